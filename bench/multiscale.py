"""Multi-scale against single scale: evaluations to the same loss.

    ninja -C build-perf && /usr/bin/python3 bench/multiscale.py --build build-perf

(about 5 minutes on 2 cores).  For each content/style pair (free pictures
from python3-skimage and opencv-doc) it runs `nst` twice at the default
working size (512 px) and iterations (300) with SqueezeNet from
$NST_MODEL_PATH (default ../shared/models): once with --scales 1, once with
the default pyramid.  Each run writes a --log line per evaluation of the
objective.  It prints, per pair, the single-scale run's final total and
evaluations, the multi-scale run's, and the evaluation (counting the coarse
stages' too, each as one) and the seconds at which the multi-scale run first
reaches the single-scale final total.  The loss of a coarse stage is not
comparable with the 512 px objective, so only final-stage evaluations can
reach it.  A deterministic program: the same build on the same machine
gives the same numbers.  With --check (and --pairs 1: chelsea x starry
night, the issue's own example) it is a test in the quality suite.
"""
import argparse
import json
import os
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"
OPENCV = "/usr/share/doc/opencv-doc/examples/data/"
PAIRS = [
    ("chelsea", SKIMAGE + "chelsea.png", OPENCV + "starry_night.jpg"),
    ("astronaut", SKIMAGE + "astronaut.png", OPENCV + "graf1.png"),
    ("coffee", SKIMAGE + "coffee.png", OPENCV + "starry_night.jpg"),
    ("rocket", SKIMAGE + "rocket.jpg", OPENCV + "baboon.jpg"),
    ("chelsea", SKIMAGE + "chelsea.png", OPENCV + "graf1.png"),
    ("astronaut", SKIMAGE + "astronaut.png", OPENCV + "starry_night.jpg"),
    ("coffee", SKIMAGE + "coffee.png", OPENCV + "baboon.jpg"),
]


def run(nst, content, style, log, extra):
    env = dict(os.environ)
    env.setdefault("NST_MODEL_PATH", os.path.join(ROOT, "..", "shared", "models"))
    out = os.path.splitext(log)[0] + ".png"
    subprocess.run([nst, "--content", content, "--style", style, "--output", out, "--log", log, "--quiet"] + extra,
                   env=env, check=True)
    with open(log) as f:
        return [json.loads(line) for line in f]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--build", default="build", help="meson build folder with cli/nst")
    ap.add_argument("--pairs", type=int, default=len(PAIRS), help="how many of the pairs to run")
    ap.add_argument("--keep", help="folder for the logs and pictures (default: a temporary one)")
    ap.add_argument("--check", action="store_true",
                    help="exit 1 unless multi-scale needs fewer evaluations on every pair run (the quality test)")
    ap.add_argument("nst_args", nargs="*", help="more arguments for both runs, after --")
    args = ap.parse_args()
    nst = os.path.join(args.build, "cli", "nst")
    if not os.access(nst, os.X_OK):
        sys.exit(f"multiscale: {nst} is missing; build first (ninja -C {args.build})")
    folder = args.keep or tempfile.mkdtemp(prefix="nst-multiscale-")
    os.makedirs(folder, exist_ok=True)
    print(f"{'pair':<28} {'single: total @ evals':>22} {'multi: total @ evals':>22} "
          f"{'multi reaches it @':>19} {'seconds single/multi':>21}")
    ahead = []
    for name, content, style in PAIRS[:args.pairs]:
        tag = f"{name}-{os.path.splitext(os.path.basename(style))[0]}"
        single = run(nst, content, style, os.path.join(folder, tag + "-single.jsonl"), ["--scales", "1"] + args.nst_args)
        multi = run(nst, content, style, os.path.join(folder, tag + "-multi.jsonl"), args.nst_args)
        # "eval" counts from 0: evaluations made = eval + 1
        target, single_evals = single[-1]["total"], single[-1]["eval"] + 1
        last_stage = multi[-1]["stage"]
        reached = next((r for r in multi if r["stage"] == last_stage and r["total"] <= target), None)
        reached_evals = reached["eval"] + 1 if reached else None
        where = f"{reached_evals} ({reached_evals - single_evals:+d})" if reached else "never"
        seconds = f"{single[-1]['seconds']:.1f} / {reached['seconds']:.1f}" if reached else \
            f"{single[-1]['seconds']:.1f} / -"
        print(f"{tag:<28} {target:>13.0f} @ {single_evals:<6} {multi[-1]['total']:>13.0f} @ {multi[-1]['eval'] + 1:<6} "
              f"{where:>19} {seconds:>21}", flush=True)
        ahead.append(reached_evals - single_evals if reached else None)
    fewer = sum(1 for a in ahead if a is not None and a < 0)
    print(f"multi-scale reaches the single-scale final total in fewer evaluations on {fewer} of {len(ahead)} pairs; "
          f"logs in {folder}")
    if args.check and fewer < len(ahead):
        sys.exit("multiscale: FAIL: multi-scale did not reach the single-scale final total in fewer evaluations")


if __name__ == "__main__":
    main()
