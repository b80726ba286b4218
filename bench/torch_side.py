"""PyTorch's side of the benchmark (bench/run.py drives it; run with /usr/bin/python3).

  torch_side.py eval MODEL WEIGHTS DATA_DIR WARMUP REPS
  torch_side.py lbfgs MODEL WEIGHTS DATA_DIR EVALS

The same objective as nst_objective_eval with zero padding and no border: the
networks and the loss come from tools/make-torch-fixtures.py (the reference the
engine's tests are checked against).  oneDNN on, NCHW, 2 threads.  One JSON
object on stdout with ru_maxrss (KiB).  NST_TORCH_DEVICE=cuda runs it on
PyTorch's GPU instead (timed after torch.cuda.synchronize()), for the
benchmark beside our Vulkan backend on a machine that has one."""
import importlib.util
import json
import os
import resource
import struct
import sys
import time

import numpy as np
import torch

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def load_fixtures_module():
    path = os.path.join(ROOT, "tools", "make-torch-fixtures.py")
    spec = importlib.util.spec_from_file_location("torch_fixtures", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


FX = load_fixtures_module()
VGG_CFG = {
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M",
              512, 512, 512, 512, "M"],
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
}
LAYERS = {
    "squeezenet1.1": (["fire3"], ["conv1", "fire2", "fire3", "fire4", "fire5"]),
    "vgg": (["relu4_2"], ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]),
}
WEIGHTS = (1.0, 1e5, 0.1)
DEVICE = torch.device(os.environ.get("NST_TORCH_DEVICE", "cpu"))


def synchronize():
    if DEVICE.type == "cuda":
        torch.cuda.synchronize()


def read_safetensors(path):
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        header = json.loads(f.read(length))
        data = f.read()
    out = {}
    for name, info in header.items():
        if name == "__metadata__":
            continue
        start, end = info["data_offsets"]
        out[name] = torch.from_numpy(np.frombuffer(data[start:end], dtype="<f4").reshape(info["shape"]).copy())
    return out


def build_net(model, weights):
    if model == "squeezenet1.1":
        return FX.SqueezeNet11(torch, weights), LAYERS[model]
    features, names = FX.vgg_features(torch, VGG_CFG[model])
    state = read_safetensors(weights)
    features.load_state_dict({k[len("features."):]: v for k, v in state.items()})
    features.requires_grad_(False)
    return FX.SequentialNet(features, names), LAYERS["vgg"]


class Problem:
    """The objective with its targets computed once (as the engine does)."""

    def __init__(self, model, weights, data_dir):
        self.net, (self.content_layers, self.style_layers) = build_net(model, weights)
        self.net.to(DEVICE)
        pic = {n: torch.from_numpy(np.load(os.path.join(data_dir, n + ".npy"))).to(DEVICE)
               for n in ("content", "style", "x0")}
        self.x0 = pic["x0"]
        with torch.no_grad():
            self.content_feats = self.net(FX.normalise(torch, pic["content"]), self.content_layers)
            style_feats = self.net(FX.normalise(torch, pic["style"]), self.style_layers)
            self.style_grams = {n: FX.gram(style_feats[n]) for n in self.style_layers}
        del style_feats

    def losses(self, x):
        alpha, beta, tau = WEIGHTS
        feats = self.net(FX.normalise(torch, x), self.content_layers + self.style_layers)
        content = 0
        for name in self.content_layers:
            a = feats[name]
            _, nc, nh, nw = a.shape
            content = content + ((self.content_feats[name] - a) ** 2).sum() / (4 * nh * nw * nc) \
                / len(self.content_layers)
        style = 0
        for name in self.style_layers:
            a = feats[name]
            _, nc, nh, nw = a.shape
            style = style + ((self.style_grams[name] - FX.gram(a)) ** 2).sum() \
                / (4 * nc * nc * (nh * nw) ** 2) / len(self.style_layers)
        tv = ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean() + ((x[:, 1:, :] - x[:, :-1, :]) ** 2).mean()
        return content, style, tv, alpha * content + beta * style + tau * tv

    def eval(self, x):
        x = x.detach().requires_grad_(True)
        terms = self.losses(x)
        terms[3].backward()
        return [float(t) for t in terms], x.grad


def max_rss_kib():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def run_eval(problem, warmup, reps):
    times, first, grad = [], None, None
    for i in range(warmup + reps):
        t0 = time.perf_counter()
        losses, grad = problem.eval(problem.x0)
        synchronize()
        t = time.perf_counter() - t0
        first = first or losses
        if i >= warmup:
            times.append(t)
    return {"side": "torch", "losses": first, "grad_norm": float(grad.double().norm()), "times": times}


def run_lbfgs(problem, evals):
    """torch.optim.LBFGS, history 20, strong Wolfe, no box (torch has none)."""
    x = problem.x0.clone().requires_grad_(True)
    opt = torch.optim.LBFGS([x], lr=1, max_iter=evals, max_eval=evals, history_size=20,
                            tolerance_grad=0, tolerance_change=0, line_search_fn="strong_wolfe")
    trace, start = [], time.perf_counter()

    def closure():
        opt.zero_grad()
        total = problem.losses(x)[3]
        total.backward()
        trace.append([len(trace) + 1, time.perf_counter() - start, float(total)])
        return total

    opt.step(closure)
    return {"side": "torch", "trace": trace}


def main():
    torch.backends.mkldnn.enabled = True
    torch.set_num_threads(2)
    mode, model, weights, data_dir = sys.argv[1:5]
    problem = Problem(model, weights, data_dir)
    if mode == "eval":
        out = run_eval(problem, int(sys.argv[5]), int(sys.argv[6]))
    else:
        out = run_lbfgs(problem, int(sys.argv[5]))
    out["maxrss_kib"] = max_rss_kib()
    out["threads"] = torch.get_num_threads()
    out["device"] = torch.cuda.get_device_name(DEVICE) if DEVICE.type == "cuda" else "cpu"
    print(json.dumps(out))


if __name__ == "__main__":
    main()
