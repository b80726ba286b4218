"""Side-by-side benchmark: our engine against PyTorch on the CPU, same objective.

    ninja -C build-perf bench/nst_bench && /usr/bin/python3 bench/run.py --build build-perf

(about 5 minutes on 2 cores).  For each model (SqueezeNet 1.1 from
$NST_MODEL_PATH, default ../shared/models; a random VGG19 written here) at
256² and 512², it runs our C program (bench/nst_bench.c, nst_objective_eval)
and PyTorch 1.13 (bench/torch_side.py: oneDNN on, NCHW, 2 threads) as
separate processes, interleaved ours, torch, ours, torch, on the same weights
and pictures (.npy planar [3, H, W]), and prints per side: seconds per
evaluation (value + gradient w.r.t. the image; median of all timed reps
after a warm-up per process, with min-max), ours/PyTorch, effective GFLOP/s
(analytic FLOPs: conv forward + input gradient, Grams) against a measured
2048³ sgemm, peak RSS (ru_maxrss), and the first evaluation's losses of both
sides with their relative difference.  Then L-BFGS on SqueezeNet at 512²: the
time each side takes to reach the best loss PyTorch's LBFGS (history 20,
strong Wolfe, no box) reaches in 50 evaluations; ours is nst_lbfgs
(history 20, projected onto the box [0, 1], the plug-in's setting).

With --device gpu (or gpu:N) the same objective also runs on our Vulkan
backend, a third process per round: seconds per evaluation with the picture
and gradient resident in device memory (how a run on the device works) and
with both copied to and from the host, against our CPU engine and PyTorch,
and the losses' difference from PyTorch's.  --end-to-end also times the
README's first command (tools/quickstart.sh's nst call: SqueezeNet 1.1,
chelsea + starry_night, the defaults) with --device cpu and --device DEVICE:
wall seconds of the process, and the seconds after start-up (the run itself,
from the last line of its --log).
"""
import argparse
import json
import os
import statistics
import subprocess
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
# Debian's python3-torch; NST_TORCH_PYTHON names another (a GPU machine's).
TORCH_PYTHON = os.environ.get("NST_TORCH_PYTHON", "/usr/bin/python3")


def make_picture(rng, size, kind):
    """A smooth picture with some texture, deterministic per (seed, kind)."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32) / size
    channels = []
    for c in range(3):
        f = rng.uniform(2, 12, size=4)
        phase = rng.uniform(0, 6.28, size=4)
        v = (np.sin(f[0] * 6.28 * x + phase[0]) * np.cos(f[1] * 6.28 * y + phase[1])
             + 0.5 * np.sin(f[2] * 6.28 * (x + y) + phase[2]) + 0.3 * np.cos(f[3] * 6.28 * (x - y) + phase[3]))
        if kind == "style":
            v = np.sign(v) * np.abs(v) ** 0.5
        channels.append(0.5 + 0.25 * v + 0.05 * rng.standard_normal((size, size)))
    return np.clip(np.stack(channels), 0, 1).astype(np.float32)


def write_pictures(data_dir, size):
    folder = os.path.join(data_dir, f"pictures-{size}")
    if os.path.exists(os.path.join(folder, "x0.npy")):
        return folder
    os.makedirs(folder, exist_ok=True)
    rng = np.random.default_rng(size)
    content = make_picture(rng, size, "content")
    style = make_picture(rng, size, "style")
    x0 = np.clip(content + 0.1 * rng.standard_normal(content.shape), 0, 1).astype(np.float32)
    for name, a in (("content", content), ("style", style), ("x0", x0)):
        np.save(os.path.join(folder, name + ".npy"), a)
    return folder


def write_vgg19(data_dir):
    """Random He-normal VGG19 weights with torchvision's names (torch seed 0)."""
    path = os.path.join(data_dir, "vgg19-random.safetensors")
    if not os.path.exists(path):
        subprocess.run([TORCH_PYTHON, "-c", f"""
import sys, torch
sys.path.insert(0, {HERE!r})
import torch_side as T
torch.manual_seed(0)
features, _ = T.FX.vgg_features(torch, T.VGG_CFG['vgg19'])
T.FX.init_vgg_weights(torch, features)
T.FX.write_safetensors({path!r}, {{'features.' + k: v.numpy() for k, v in features.state_dict().items()}})
"""], check=True)
    return path


def side_command(args, side, mode, model, weights, folder, *rest):
    if side in ("ours", "gpu"):
        return [args.nst_bench, mode, model, weights, folder, *map(str, rest)]
    return [TORCH_PYTHON, os.path.join(HERE, "torch_side.py"), mode, model, weights, folder, *map(str, rest)]


# OpenBLAS settings that pin its kernels or cache size instead of reading
# the CPU.  This workplace's machines set OPENBLAS_CORETYPE=Haswell, which
# halves sgemm on their AVX-512 cores; a user's machine normally has neither.
OPENBLAS_OVERRIDES = ("OPENBLAS_CORETYPE", "OPENBLAS_L2_SIZE")
INHERIT_OPENBLAS = False


def run_json(cmd):
    env = dict(os.environ, OPENBLAS_NUM_THREADS="2", OMP_NUM_THREADS="2")
    if not INHERIT_OPENBLAS:
        for name in OPENBLAS_OVERRIDES:
            env.pop(name, None)
    out = subprocess.run(cmd, check=True, stdout=subprocess.PIPE, env=env, text=True).stdout
    return json.loads(out.strip().splitlines()[-1])


def bench_eval(args, model, weights, folder):
    sides = ("ours", "torch") + (("gpu",) if args.device else ())
    results = {side: [] for side in sides}
    for _ in range(args.rounds):
        for side in sides:
            extra = (args.device,) if side == "gpu" else ()
            results[side].append(run_json(side_command(args, side, "eval", model, weights, folder,
                                                       args.warmup, args.reps, *extra)))
    merged = {}
    for side, runs in results.items():
        times = [t for r in runs for t in r["times"]]
        merged[side] = {"median": statistics.median(times), "min": min(times), "max": max(times),
                        "n": len(times), "rss": max(r["maxrss_kib"] for r in runs) / 1024.0,
                        "losses": runs[0]["losses"], "grad_norm": runs[0]["grad_norm"]}
        merged[side]["device"] = runs[0].get("device", "cpu")
        if side == "gpu":
            merged[side]["transfer"] = statistics.median(t for r in runs for t in r["times_transfer"])
    merged["flops"] = results["ours"][0]["flops"]
    return merged


def print_gpu_table(rows):
    print(f"\nOur Vulkan backend on {rows[0][1]['gpu']['device']} (resident: picture and gradient stay in "
          "device memory; copied: both cross to and from the host)")
    head = (f"{'model':<14}{'size':>5}  {'s/eval resident':>16}{'copied':>10}{'gpu/ours':>10}{'gpu/torch':>10}"
            f"{'GFLOP/s':>9}  {'total rel to torch':>18}")
    print(head)
    print("-" * len(head))
    for (model, size), r in rows:
        g, o, t = r["gpu"], r["ours"], r["torch"]
        rel = abs(g["losses"][3] - t["losses"][3]) / abs(t["losses"][3])
        print(f"{model:<14}{size:>5}  {g['median']:>16.4f}{g['transfer']:>10.4f}{g['median'] / o['median']:>10.3f}"
              f"{g['median'] / t['median']:>10.3f}{r['flops'] / g['median'] * 1e-9:>9.1f}  {rel:>18.2e}")


def bench_end_to_end(args, data):
    """The README's first command on the CPU and on the device, one after the other."""
    nst = os.path.join(args.build, "cli", "nst")
    print("\nThe README's first command (SqueezeNet 1.1, chelsea + starry_night, defaults"
          + (f", with {args.end_to_end_args}" if args.end_to_end_args else "") + "), end to end:")
    for device in ("cpu", args.device):
        log = os.path.join(data, f"end-to-end-{device.replace(':', '_')}.jsonl")
        out = os.path.join(data, f"end-to-end-{device.replace(':', '_')}.png")
        start = time.perf_counter()
        run = subprocess.run([nst, "--content", args.content, "--style", args.style, "--output", out, "--device", device,
                              "--log", log] + args.end_to_end_args.split(), stderr=subprocess.PIPE, text=True, env=dict(os.environ))
        wall = time.perf_counter() - start
        if run.returncode != 0:
            print(f"  --device {device}: failed: {run.stderr.strip().splitlines()[-1:]}")
            continue
        with open(log) as f:
            last = json.loads(f.read().strip().splitlines()[-1])
        said = [line for line in run.stderr.splitlines() if "objective runs on" in line]
        print(f"  --device {device:<6} {wall:8.2f} s wall, {last['seconds']:8.2f} s after start-up, "
              f"{last['eval']} evaluations, final total {last['total']:.6g}  ({said[0] if said else ''})")


def print_eval_table(rows, peak):
    print(f"\nsgemm 2048^3, 2 threads: {peak:.1f} GFLOP/s (the peak GFLOP/s are measured against); "
          f"PyTorch on {rows[0][1]['torch']['device']}\n")
    head = (f"{'model':<14}{'size':>5}  {'side':<6}{'s/eval (median)':>16} {'min-max':>17} {'n':>3}"
            f"{'ours/torch':>11}{'GFLOP/s':>9}{'%peak':>7}{'peak RSS MiB':>14}")
    print(head)
    print("-" * len(head))
    for (model, size), r in rows:
        ratio = r["ours"]["median"] / r["torch"]["median"]
        for side in ("ours", "torch"):
            s = r[side]
            gflops = r["flops"] / s["median"] * 1e-9
            print(f"{model:<14}{size:>5}  {side:<6}{s['median']:>16.4f} {s['min']:>8.4f}-{s['max']:<8.4f} {s['n']:>3}"
                  f"{(f'{ratio:.3f}' if side == 'ours' else ''):>11}{gflops:>9.1f}{100 * gflops / peak:>6.0f}%"
                  f"{s['rss']:>14.0f}")
    print("\nFirst evaluation: total loss (content, style, tv) of each side, |ours - torch| / |torch|")
    for (model, size), r in rows:
        o, t = r["ours"]["losses"], r["torch"]["losses"]
        rel = abs(o[3] - t[3]) / abs(t[3])
        gn = abs(r["ours"]["grad_norm"] - r["torch"]["grad_norm"]) / r["torch"]["grad_norm"]
        print(f"{model:<14}{size:>5}  ours {o[3]:.7g} ({o[0]:.5g}, {o[1]:.5g}, {o[2]:.5g})  "
              f"torch {t[3]:.7g} ({t[0]:.5g}, {t[1]:.5g}, {t[2]:.5g})  rel {rel:.2e}  |grad| rel {gn:.2e}"
              f"  GFLOP/eval {r['flops'] * 1e-9:.1f}")


def bench_lbfgs(args, weights, folder):
    torch_run = run_json(side_command(args, "torch", "lbfgs", "squeezenet1.1", weights, folder, args.lbfgs_evals))
    trace = torch_run["trace"]
    target = min(loss for _, _, loss in trace[:args.lbfgs_evals])
    torch_reach = next((e, t) for e, t, loss in trace if loss <= target)
    ours = run_json(side_command(args, "ours", "lbfgs", "squeezenet1.1", weights, folder, repr(target),
                                 args.lbfgs_max_evals))
    print(f"\nL-BFGS, SqueezeNet 1.1 at {args.lbfgs_size}², from x0: target = best total loss torch reaches "
          f"in {args.lbfgs_evals} evaluations = {target:.6g} (start {trace[0][2]:.6g})")
    print(f"  torch (LBFGS history 20, strong Wolfe, no box):   {torch_reach[1]:8.2f} s, {torch_reach[0]:4d} evaluations"
          f"   peak RSS {torch_run['maxrss_kib'] / 1024:.0f} MiB")
    if ours["evals_to_target"]:
        print(f"  ours  (nst_lbfgs history 20, box [0,1]):          {ours['seconds_to_target']:8.2f} s, "
              f"{ours['evals_to_target']:4d} evaluations   peak RSS {ours['maxrss_kib'] / 1024:.0f} MiB"
              f"   ratio {ours['seconds_to_target'] / torch_reach[1]:.3f}")
    else:
        best = min(v for _, _, v in ours["trace"]) if ours["trace"] else float("nan")
        print(f"  ours  (nst_lbfgs history 20, box [0,1]): target NOT reached in {ours['evals']} evaluations "
              f"({ours['seconds']:.2f} s); best {best:.6g}")


def main():
    default_models = os.environ.get("NST_MODEL_PATH", os.path.join(ROOT, "..", "shared", "models"))
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--build", default=os.path.join(ROOT, "build-perf"), help="meson build folder with bench/nst_bench")
    p.add_argument("--data", default=None, help="where pictures and random VGG weights go (default BUILD/bench-data)")
    p.add_argument("--models", default="squeezenet1.1,vgg19")
    p.add_argument("--sizes", default="256,512")
    p.add_argument("--rounds", type=int, default=2, help="ours/torch process pairs per configuration")
    p.add_argument("--warmup", type=int, default=1, help="untimed evaluations per process")
    p.add_argument("--reps", type=int, default=3, help="timed evaluations per process")
    p.add_argument("--lbfgs-size", type=int, default=512)
    p.add_argument("--lbfgs-evals", type=int, default=50)
    p.add_argument("--lbfgs-max-evals", type=int, default=300)
    p.add_argument("--no-lbfgs", action="store_true")
    p.add_argument("--device", default=None, help="also our Vulkan backend on this device (gpu or gpu:N)")
    p.add_argument("--end-to-end", action="store_true", help="also the README's first command, CPU vs --device")
    p.add_argument("--content", default="/usr/lib/python3/dist-packages/skimage/data/chelsea.png",
                   help="the README's content picture (python3-skimage)")
    p.add_argument("--style", default="/usr/share/doc/opencv-doc/examples/data/starry_night.jpg",
                   help="the README's style picture (opencv-doc)")
    p.add_argument("--end-to-end-args", default="", help="extra nst options for it (a smoke test: '--size 64 "
                   "--iterations 5'); the default is the README's command as it is")
    p.add_argument("--inherit-openblas-env", action="store_true",
                   help="keep " + " and ".join(OPENBLAS_OVERRIDES) + " from the environment (default: both "
                        "sides run without them, so OpenBLAS picks its kernels from the CPU)")
    args = p.parse_args()
    global INHERIT_OPENBLAS
    INHERIT_OPENBLAS = args.inherit_openblas_env
    args.nst_bench = os.path.join(args.build, "bench", "nst_bench")
    data = args.data or os.path.join(args.build, "bench-data")
    os.makedirs(data, exist_ok=True)
    squeezenet = os.path.join(default_models, "squeezenet1.1", "weights")
    load_start = f"{os.getloadavg()[0]:.2f}"
    peak_run = run_json([args.nst_bench, "peak"])
    peak = peak_run["sgemm_gflops"]
    pinned = {n: os.environ[n] for n in OPENBLAS_OVERRIDES if n in os.environ}
    print(f"OpenBLAS kernels: {peak_run['openblas_core']} (ours; PyTorch's convolutions run oneDNN, which reads the CPU itself); "
          + (f"environment's {pinned} {'kept' if INHERIT_OPENBLAS else 'removed for both sides'}" if pinned
             else "no OpenBLAS override in the environment"), flush=True)
    rows = []
    for model in args.models.split(","):
        weights = squeezenet if model == "squeezenet1.1" else write_vgg19(data)
        for size in map(int, args.sizes.split(",")):
            rows.append(((model, size), bench_eval(args, model, weights, write_pictures(data, size))))
            print(f"  done {model} {size}", file=sys.stderr, flush=True)
    print_eval_table(rows, peak)
    if args.device:
        print_gpu_table(rows)
    print(f"\nload average at start / end: {load_start} / {os.getloadavg()[0]:.2f} "
          f"(2 cores; other processes running make both sides slower and noisier)")
    if not args.no_lbfgs:
        bench_lbfgs(args, squeezenet, write_pictures(data, args.lbfgs_size))
    if args.end_to_end and args.device:
        bench_end_to_end(args, data)


if __name__ == "__main__":
    main()
