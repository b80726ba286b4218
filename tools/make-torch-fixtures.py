#!/usr/bin/python3
"""Reference fixtures for nst-core's model tests, computed with PyTorch autograd.

Usage:

    /usr/bin/python3 tools/make-torch-fixtures.py OUTDIR [--squeezenet DIR] [--status FILE]
        [--exec COMMAND ARGS...]

meson's 'model' suite runs it as the test torch_reference, every time: it
writes the fixtures, then execs tests/model/test_torch_reference (--exec).

OUTDIR receives, all small (a few MB, never committed):

  vgg19.safetensors, vgg16.safetensors
      torchvision-style `features` weights (features.N.weight / features.N.bias,
      F32) drawn from a fixed seed, plus a tensor "classifier.0.weight" that a
      loader of `features` must ignore.
  content.npy, x.npy [3,48,80]; style.npy [3,48,80]; style2.npy [3,56,56]
      planar RGB float32 in [0,1] (VGG cases).
  {vgg19,vgg16}_{conv1_1,relu1_1,relu2_1,relu3_1,relu4_1,relu4_2,relu5_1}.npy
      activations [C,H,W] for the normalised x.
  {vgg19,vgg16}_losses.npy   [content, style, tv, total] (unweighted terms;
      total = ALPHA content + BETA style + TAU tv), float64
  {vgg19,vgg16}_grad.npy     d(total)/dx [3,H,W]
  {vgg19,vgg16}_grad_{content,style,tv}.npy   the gradient of each term alone
  {vgg19,vgg16}_blend_losses.npy / _blend_grad.npy
      the same with styles (style, style2) blended with weights BLEND (not
      normalised here: the engine must normalise them).
  vgg19_avg_relu3_1.npy      relu3_1 of x with average pooling.
  sq_content.npy, sq_x.npy [3,96,128]; sq_style.npy [3,80,112]
  squeezenet_losses.npy / squeezenet_grad.npy / squeezenet_grad_{content,style,tv}.npy
      the SqueezeNet 1.1 objective.
  squeezenet_{reflect,replicate}_losses.npy / _grad.npy
      the same with every padded conv padded by torch's 'reflect' / 'replicate'.
  sq_style2.npy [3,64,72]; sq_mask1.npy, sq_mask2.npy [96,128] (float32 in [0,1])
  squeezenet_guided_losses.npy / _grad.npy / _grad_{content,style,tv}.npy
      the guided (regions) objective: sq_style in the region sq_mask1 and
      sq_style2 in sq_mask2, with blend weights BLEND.
  precision.txt   float32-torch versus float64-torch errors, the noise floor
                  that justifies the tolerances of tests/model/test_torch_reference.c

The references are computed in float64 from the same float32 weights and
pictures the C engine reads, so they are exact up to float64 rounding.  The
objective is the one of nst-core/loss/objective.h:
  content = sum_l wc_l sum (a_C - a_G)^2 / (4 nH nW nC)
  style   = sum_l ws_l sum (G_S - G_G)^2 / (4 nC^2 (nH nW)^2), G = A A^T, A = [nC, nH nW]
  tv      = mean((x[:,:,1:] - x[:,:,:-1])^2) + mean((x[:,1:,:] - x[:,:-1,:])^2)
on (x - mean) / std with ImageNet mean and std; a style picture of another
size than x has its Gram matrix scaled by (nH nW)_x / (nH nW)_style (the
per-position statistics are what must match); several styles blend their
targets G_S = sum_i w_i G_i with w normalised to sum 1.

The guided style term (regions, Gatys et al. 2017), as objective.h writes it:
each style s has a mask M_s over the picture, area-averaged to each style
layer's nH x nW (each sample the mean of the mask under it; no border here),
  style = sum_l ws_l sum_s b_s (a_s / nH nW) sum (G_s / a_s - T_s / (nH nW))^2 / (4 nC^2)
with G_s = (A . M_s)(A . M_s)^T, a_s = sum M_s^2, T_s style s's Gram scaled
to nH nW, and b_s its blend weight normalised to mean 1.

With --status FILE (how meson calls it) the script does not fail by itself: it
writes "ok" or the error to FILE and the C test (--exec) fails with that
message, so a machine without torch gets a failing test, not a silent skip.
"""

import argparse
import json
import os
import struct
import sys
import traceback

# Must match tests/model/test_torch_reference.c.
ALPHA, BETA, TAU = 1.0, 1e3, 0.1
VGG_CONTENT = ["relu4_2"]
VGG_STYLE = ["relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1"]
VGG_FEATURES = ["conv1_1", "relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu4_2", "relu5_1"]
VGG_SIZE = (48, 80)
VGG_STYLE2_SIZE = (56, 56)
BLEND = (1.4, 0.6)  # normalised: 0.7, 0.3
SQ_ALPHA, SQ_BETA, SQ_TAU = 1.0, 1e5, 0.1
SQ_CONTENT = ["fire3"]
SQ_STYLE = ["conv1", "fire2", "fire3", "fire4", "fire5"]
SQ_SIZE = (96, 128)
SQ_STYLE_SIZE = (80, 112)
SQ_STYLE2_SIZE = (64, 72)

VGG_CFG = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M",
              512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def write_safetensors(path, tensors, metadata=None):
    """A minimal safetensors writer: u64 header length, JSON header, data."""
    import numpy as np
    header, blobs, offset = {}, [], 0
    for name, array in tensors.items():
        data = np.ascontiguousarray(array, dtype="<f4").tobytes()
        header[name] = {"dtype": "F32", "shape": list(array.shape),
                        "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    if metadata:
        header["__metadata__"] = metadata
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # the format pads the header to 8 bytes
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for blob in blobs:
            f.write(blob)


def vgg_features(torch, cfg, pooling="max"):
    """torchvision's vgg.features and the name of each output (conv/relu)."""
    nn = torch.nn
    layers, names, block, index, in_ch = [], [], 1, 1, 3
    for v in cfg:
        if v == "M":
            layers.append(nn.MaxPool2d(2, 2) if pooling == "max" else nn.AvgPool2d(2, 2))
            names.append(f"pool{block}")
            block, index = block + 1, 1
        else:
            layers += [nn.Conv2d(in_ch, v, 3, padding=1), nn.ReLU(inplace=False)]
            names += [f"conv{block}_{index}", f"relu{block}_{index}"]
            index, in_ch = index + 1, v
    return nn.Sequential(*layers), names


def init_vgg_weights(torch, features):
    """He-normal weights keep activations O(1) through 16 random layers."""
    for m in features:
        if isinstance(m, torch.nn.Conv2d):
            fan_in = m.in_channels * 9
            m.weight.data.normal_(0.0, (2.0 / fan_in) ** 0.5)
            m.bias.data.uniform_(-0.05, 0.05)


class SequentialNet:
    """Runs a features Sequential, returning the named outputs asked for."""

    def __init__(self, features, names):
        self.features, self.names = features, names

    def to(self, dtype):  # in place, as nn.Module.to; float32 -> float64 -> float32 is exact
        self.features.to(dtype)
        return self

    def __call__(self, x, wanted):
        out, last = {}, max(self.names.index(n) for n in wanted)
        for i, layer in enumerate(self.features[:last + 1]):
            x = layer(x)
            if self.names[i] in wanted:
                out[self.names[i]] = x
        return out


class SqueezeNet11:
    """SqueezeNet 1.1 from the shared .npy weights (topology of the shared README)."""

    FIRES = [("fire2", 1), ("fire3", 4), ("pool3", None), ("fire4", 7), ("fire5", 10), ("pool5", None),
             ("fire6", 13), ("fire7", 16), ("fire8", 19), ("fire9", 22)]

    def __init__(self, torch, weight_dir, padding="zeros"):
        import numpy as np
        self.torch, self.padding = torch, padding
        self.w = {}
        for n in range(26):
            for kind in ("weight", "bias"):
                a = np.load(os.path.join(weight_dir, f"squeezenet0_conv{n}_{kind}.npy"))
                self.w[(n, kind)] = torch.from_numpy(a.astype(np.float32))

    def to(self, dtype):  # in place, like SequentialNet.to
        self.w = {k: v.to(dtype) for k, v in self.w.items()}
        return self

    def conv(self, x, n, stride=1, pad=0):
        F = self.torch.nn.functional
        if pad and self.padding != "zeros":
            x, pad = F.pad(x, (pad,) * 4, mode=self.padding), 0
        return F.relu(F.conv2d(x, self.w[(n, "weight")], self.w[(n, "bias")], stride=stride, padding=pad))

    def __call__(self, x, wanted):
        F = self.torch.nn.functional
        out = {}
        x = self.conv(x, 0, stride=2)
        out["conv1"] = x
        x = F.max_pool2d(x, 3, 2)  # floor mode, as the README says
        for name, first in self.FIRES:
            if all(w in out for w in wanted):
                return out
            if first is None:
                x = F.max_pool2d(x, 3, 2)
                continue
            s = self.conv(x, first)
            x = self.torch.cat([self.conv(s, first + 1), self.conv(s, first + 2, pad=1)], dim=1)
            out[name] = x
        out["conv10"] = self.conv(x, 25)
        return out


def normalise(torch, x):
    mean = torch.tensor(IMAGENET_MEAN, dtype=x.dtype, device=x.device).view(3, 1, 1)
    std = torch.tensor(IMAGENET_STD, dtype=x.dtype, device=x.device).view(3, 1, 1)
    return ((x - mean) / std).unsqueeze(0)


def gram(a):
    c = a.shape[1]
    flat = a.reshape(c, -1)
    return flat @ flat.t()


def area_matrix(np, in_size, out_size):
    """R [out, in]: output sample j is the mean of the source span
    [j in/out, (j+1) in/out), each source sample weighed by its overlap."""
    scale = in_size / out_size
    r = np.zeros((out_size, in_size))
    for j in range(out_size):
        lo, hi = j * scale, (j + 1) * scale
        for i in range(int(np.floor(lo)), min(int(np.ceil(hi)), in_size)):
            r[j, i] = max(0.0, min(hi, i + 1.0) - max(lo, float(i))) / scale
    return r


def layer_mask(torch, mask, nh, nw, dtype):
    """The mask [H, W] area-averaged to a layer's nh x nw, as a [1, nh * nw] tensor."""
    import numpy as np
    m = area_matrix(np, mask.shape[0], nh) @ mask.astype(np.float64) @ area_matrix(np, mask.shape[1], nw).T
    return torch.from_numpy(m.reshape(1, -1)).to(dtype)


def guided_style_layer(torch, a_g, s_feats, name, blend, masks):
    """One style layer's guided term: each style in its own region."""
    _, nc, nh, nw = a_g.shape
    hw, flat = nh * nw, a_g.reshape(nc, -1)
    loss = 0
    for s, w, mask in zip(s_feats, blend, masks):
        a_s = s[name]
        target = gram(a_s) * hw / (a_s.shape[2] * a_s.shape[3])
        m = layer_mask(torch, mask, nh, nw, a_g.dtype)
        area = (m ** 2).sum()
        masked = flat * m
        b = w * len(blend) / sum(blend)
        loss = loss + b * (area / hw) * ((masked @ masked.t() / area - target / hw) ** 2).sum() / (4 * nc * nc)
    return loss


def objective(torch, net, x, content, styles, blend, content_layers, style_layers, weights, masks=None):
    """Returns (content, style, tv, total) as tensors; the targets are
    computed without gradient, as the engine does once.  With masks (one
    [H, W] array per style), the guided style term."""
    alpha, beta, tau = weights
    layers = content_layers + style_layers
    with torch.no_grad():
        c_feats = net(normalise(torch, content), layers)
        s_feats = [net(normalise(torch, s), style_layers) for s in styles]
    g_feats = net(normalise(torch, x), layers)
    total_blend = sum(blend)

    content_loss = 0
    for name in content_layers:
        a_g, a_c = g_feats[name], c_feats[name]
        _, nc, nh, nw = a_g.shape
        content_loss = content_loss + ((a_c - a_g) ** 2).sum() / (4 * nh * nw * nc) / len(content_layers)

    style_loss = 0
    for name in style_layers:
        a_g = g_feats[name]
        if masks is not None:
            style_loss = style_loss + guided_style_layer(torch, a_g, s_feats, name, blend, masks) / len(style_layers)
            continue
        _, nc, nh, nw = a_g.shape
        target = 0
        for s, w in zip(s_feats, blend):
            a_s = s[name]
            target = target + (w / total_blend) * gram(a_s) * (nh * nw) / (a_s.shape[2] * a_s.shape[3])
        style_loss = style_loss + ((target - gram(a_g)) ** 2).sum() / (4 * nc * nc * (nh * nw) ** 2) \
            / len(style_layers)

    tv = ((x[:, :, 1:] - x[:, :, :-1]) ** 2).mean() + ((x[:, 1:, :] - x[:, :-1, :]) ** 2).mean()
    total = alpha * content_loss + beta * style_loss + tau * tv
    return content_loss, style_loss, tv, total


def evaluate(torch, net, pictures, blend, content_layers, style_layers, weights, dtype, masks=None):
    """Losses [4] and gradient (numpy float64), computed in `dtype`."""
    import numpy as np
    x, content, styles = pictures
    x = torch.from_numpy(x).to(dtype).requires_grad_(True)
    content = torch.from_numpy(content).to(dtype)
    styles = [torch.from_numpy(s).to(dtype) for s in styles]
    terms = objective(torch, net, x, content, styles, blend, content_layers, style_layers, weights, masks)
    terms[3].backward()
    return np.array([float(t) for t in terms]), x.grad.numpy().astype(np.float64)


def rel_error(a, ref):
    import numpy as np
    return float(np.abs(a.astype(np.float64) - ref).max() / max(np.abs(ref).max(), 1e-30))


class Fixtures:
    def __init__(self, torch, outdir):
        import numpy as np
        self.torch, self.np, self.outdir = torch, np, outdir
        self.precision = []

    def save(self, name, array):
        self.np.save(os.path.join(self.outdir, name + ".npy"), array)

    def picture(self, name, size):
        a = self.torch.rand(3, *size, dtype=self.torch.float32).numpy()
        self.save(name, a)
        return a

    def reference(self, prefix, net, pictures, blend, content_layers, style_layers, weights, per_term=False,
                  masks=None):
        """Saves float64 losses and gradient (and with per_term the gradient of
        each unweighted term alone); records float32 torch's error as the noise floor."""
        torch = self.torch
        args = (pictures, blend, content_layers, style_layers, weights)
        losses, grad = evaluate(torch, net.to(torch.float64), *args, torch.float64, masks)
        self.save(prefix + "_losses", losses)
        self.save(prefix + "_grad", grad.astype(self.np.float32))
        losses32, grad32 = evaluate(torch, net.to(torch.float32), *args, torch.float32, masks)
        loss_err = max(abs(a - b) / max(abs(b), 1e-30) for a, b in zip(losses32, losses))
        self.precision.append(f"{prefix}: float32 torch losses rel err {loss_err:.2e}, "
                              f"gradient rel err {rel_error(grad32, grad):.2e}")
        if per_term:
            for i, term in enumerate(("content", "style", "tv")):
                one = tuple(1.0 if j == i else 0.0 for j in range(3))
                grad = evaluate(torch, net.to(torch.float64), *args[:-1], one, torch.float64, masks)[1]
                self.save(f"{prefix}_grad_{term}", grad.astype(self.np.float32))

    def features(self, prefix, net, x, names):
        torch = self.torch
        with torch.no_grad():
            out64 = net.to(torch.float64)(normalise(torch, torch.from_numpy(x).double()), names)
            out32 = net.to(torch.float32)(normalise(torch, torch.from_numpy(x)), names)
        worst = 0.0
        for name in names:
            ref = out64[name][0].numpy()
            self.save(f"{prefix}_{name}", ref.astype(self.np.float32))
            worst = max(worst, rel_error(out32[name][0].numpy(), ref))
        self.precision.append(f"{prefix} features: float32 torch rel err {worst:.2e}")


def make_vgg(fx, kind, pictures, blend_pictures):
    torch = fx.torch
    torch.manual_seed({"vgg19": 19, "vgg16": 16}[kind])
    features, names = vgg_features(torch, VGG_CFG[kind])
    init_vgg_weights(torch, features)
    state = {f"features.{k}": v.detach().numpy() for k, v in features.state_dict().items()}
    state["classifier.0.weight"] = torch.randn(4, 7).numpy()  # a loader of features must skip it
    write_safetensors(os.path.join(fx.outdir, kind + ".safetensors"), state,
                      {"format": "pt", "source": "tools/make-torch-fixtures.py"})

    module = SequentialNet(features, names)
    fx.features(kind, module, pictures[0], VGG_FEATURES)
    weights = (ALPHA, BETA, TAU)
    fx.reference(kind, module, pictures, (1.0,), VGG_CONTENT, VGG_STYLE, weights, per_term=True)
    fx.reference(kind + "_blend", module, blend_pictures, BLEND, VGG_CONTENT, VGG_STYLE, weights)

    if kind == "vgg19":
        avg_features, _ = vgg_features(torch, VGG_CFG[kind], pooling="avg")
        avg_features.load_state_dict(features.state_dict())
        fx.features(kind + "_avg", SequentialNet(avg_features, names), pictures[0], ["relu3_1"])


def make_squeezenet(fx, weight_dir):
    torch, np = fx.torch, fx.np
    net = SqueezeNet11(torch, weight_dir)
    # The torch model must reproduce the reference logits before it is trusted.
    net64 = net.to(torch.float64)
    for i in range(3):
        case = os.path.join(os.path.dirname(weight_dir.rstrip("/")), f"test_data_set_{i}")
        inp = torch.from_numpy(np.load(os.path.join(case, "input_0.npy"))).double()
        ref = np.load(os.path.join(case, "output_0.npy")).astype(np.float64)
        with torch.no_grad():
            logits = net64(inp, ["conv10"])["conv10"].mean(dim=(2, 3)).numpy()
        err = rel_error(logits, ref)
        if err > 1e-5:
            raise RuntimeError(f"torch SqueezeNet misses the reference logits of {case}: rel err {err:.2e}")
        fx.precision.append(f"squeezenet reference logits {i}: float64 torch rel err {err:.2e}")

    x = fx.picture("sq_x", SQ_SIZE)
    content = fx.picture("sq_content", SQ_SIZE)
    style = fx.picture("sq_style", SQ_STYLE_SIZE)
    fx.reference("squeezenet", net, (x, content, [style]), (1.0,), SQ_CONTENT, SQ_STYLE,
                 (SQ_ALPHA, SQ_BETA, SQ_TAU), per_term=True)
    for padding in ("reflect", "replicate"):
        fx.reference("squeezenet_" + padding, SqueezeNet11(torch, weight_dir, padding), (x, content, [style]),
                     (1.0,), SQ_CONTENT, SQ_STYLE, (SQ_ALPHA, SQ_BETA, SQ_TAU))

    # Regions: feathered, overlapping masks (left; right, weaker at the bottom).
    style2 = fx.picture("sq_style2", SQ_STYLE2_SIZE)
    cols = np.arange(SQ_SIZE[1], dtype=np.float64)[None, :]
    rows = np.arange(SQ_SIZE[0], dtype=np.float64)[:, None]
    mask1 = np.clip((0.6 * SQ_SIZE[1] - cols) / 24.0, 0, 1) * np.ones_like(rows)
    mask2 = np.clip((cols - 0.4 * SQ_SIZE[1]) / 24.0, 0, 1) * np.where(rows < 0.75 * SQ_SIZE[0], 1.0, 0.5)
    masks = [m.astype(np.float32) for m in (mask1, mask2)]
    fx.save("sq_mask1", masks[0])
    fx.save("sq_mask2", masks[1])
    fx.reference("squeezenet_guided", net, (x, content, [style, style2]), BLEND, SQ_CONTENT, SQ_STYLE,
                 (SQ_ALPHA, SQ_BETA, SQ_TAU), per_term=True, masks=masks)


def default_squeezenet_dir():
    root = os.environ.get("NST_MODEL_PATH", "").split(":")[0]
    if not root:
        root = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "shared", "models")
    return os.path.join(root, "squeezenet1.1", "weights")


def run(args):
    import torch
    torch.set_num_threads(2)
    os.makedirs(args.outdir, exist_ok=True)
    fx = Fixtures(torch, args.outdir)
    torch.manual_seed(2024)
    x = fx.picture("x", VGG_SIZE)
    content = fx.picture("content", VGG_SIZE)
    style = fx.picture("style", VGG_SIZE)
    style2 = fx.picture("style2", VGG_STYLE2_SIZE)
    for kind in ("vgg19", "vgg16"):
        make_vgg(fx, kind, (x, content, [style]), (x, content, [style, style2]))
    make_squeezenet(fx, args.squeezenet)
    with open(os.path.join(args.outdir, "precision.txt"), "w") as f:
        f.write("\n".join(fx.precision) + "\n")
    print("\n".join(fx.precision))


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("outdir")
    parser.add_argument("--squeezenet", default=default_squeezenet_dir(),
                        help="folder of the squeezenet0_conv*.npy weights")
    parser.add_argument("--status", help="write 'ok' or the error here instead of failing")
    parser.add_argument("--exec", nargs=argparse.REMAINDER, dest="command",
                        help="then replace this process with COMMAND ARGS... (the C test)")
    args = parser.parse_args()
    if not args.status:
        run(args)
    else:
        run_with_status(args)
    if args.command:
        sys.stdout.flush()
        os.execv(args.command[0], args.command)
    return 0


def run_with_status(args):
    if os.path.exists(args.status):  # no stale "ok" if this run dies half-way
        os.remove(args.status)
    try:
        run(args)
        message = "ok\n"
    except Exception:  # reported by the C test, which fails with it
        message = f"error: {sys.executable} could not make the torch fixtures:\n{traceback.format_exc()}"
        sys.stderr.write(message)
    with open(args.status, "w") as f:
        f.write(message)


if __name__ == "__main__":
    sys.exit(main())
