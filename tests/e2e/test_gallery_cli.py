#!/usr/bin/env python3
"""The command line's gallery and Strength (issue #13).

Usage: test_gallery_cli.py PATH-TO-nst SOURCE_ROOT.  Needs the shared
SqueezeNet (NST_MODEL_PATH) for the runs; the gallery checks run without it.
Every check prints what it saw; the exit status is the number of failures.
"""
import json
import os
import subprocess
import sys
import tempfile

NST, SRC = sys.argv[1], sys.argv[2]
STYLES = os.path.join(SRC, "data", "styles")
CONTENT = os.path.join(SRC, "data", "readme", "chelsea.png")
failures = 0


def check(ok, what):
    global failures
    print(("ok   " if ok else "FAIL ") + what, flush=True)
    failures += 0 if ok else 1


def nst(args, env_extra=None):
    env = dict(os.environ, NST_STYLE_PATH=STYLES)
    env.update(env_extra or {})
    return subprocess.run([NST] + args, capture_output=True, text=True, env=env, timeout=300)


def last_log(path):
    with open(path) as f:
        return json.loads(f.read().strip().splitlines()[-1])


def model_available():
    first = os.environ.get("NST_MODEL_PATH", "").split(":")[0]
    return os.path.isdir(os.path.join(first, "squeezenet1.1"))


def read(path):
    with open(path, "rb") as f:
        return f.read()


def main(tmp):
    os.environ["XDG_DATA_HOME"] = os.path.join(tmp, "xdg")  # the tester's own gallery stays out

    r = nst(["--list-styles"])
    lines = r.stdout.splitlines()
    check(r.returncode == 0 and len(lines) == 7, f"--list-styles: exit {r.returncode}, {len(lines)} lines")
    for name, painting, painter, year in [
            ("starry_night", "The Starry Night", "Vincent van Gogh", "1889"),
            ("great_wave", "The Great Wave off Kanagawa", "Katsushika Hokusai", "c. 1831"),
            ("woman_with_a_hat", "Woman with a Hat", "Henri Matisse", "1905")]:
        line = next((l for l in lines if l.startswith(name + " ")), "")
        check(painting in line and painter in line and year in line and os.path.join(STYLES, name + ".jpg") in line,
              f"--list-styles names {name}: {line!r}")

    # A user's folder joins the gallery, named after the file.
    mine = os.path.join(tmp, "mine")
    os.makedirs(mine)
    subprocess.run(["cp", os.path.join(STYLES, "udnie.jpg"), os.path.join(mine, "my_own_picture.jpg")], check=True)
    r = nst(["--list-styles"], {"NST_STYLE_PATH": mine + ":" + STYLES})
    check(r.returncode == 0 and any(l.startswith("my_own_picture ") and mine in l for l in r.stdout.splitlines()),
          "NST_STYLE_PATH's picture is listed")

    out = os.path.join(tmp, "out.png")
    r = nst(["--content", CONTENT, "--style", "starry_nite", "--output", out])
    check(r.returncode == 2 and "starry_nite" in r.stderr and "did you mean starry_night" in r.stderr
          and not os.path.exists(out), f"--style starry_nite: exit {r.returncode}: {r.stderr.strip()}")
    r = nst(["--content", CONTENT, "--style", "no_such_painting.jpg", "--output", out])
    check(r.returncode == 2 and "no file 'no_such_painting.jpg'" in r.stderr and "great_wave" in r.stderr,
          f"an unknown file: {r.stderr.strip()}")
    r = nst(["--content", CONTENT, "--style", "great_wave", "--strength", "101", "--output", out])
    check(r.returncode == 2 and "--strength" in r.stderr, f"--strength 101: {r.stderr.strip()}")

    if not model_available():
        print("model runs skipped: no squeezenet1.1 in NST_MODEL_PATH")
        return
    small = ["--content", CONTENT, "--size", "128", "--iterations", "40", "--quiet"]

    def run(name, *extra, style="great_wave", env=None):
        path = os.path.join(tmp, name + ".png")
        log = os.path.join(tmp, name + ".jsonl")
        r = nst(small + ["--style", style, "--output", path, "--log", log] + list(extra), env)
        check(r.returncode == 0 and os.path.exists(path), f"run {name}: exit {r.returncode} {r.stderr.strip()}")
        return (read(path), last_log(log)) if r.returncode == 0 else (b"", {})

    # The Great Wave's entry recommends strength 35 (data/styles/gallery.json):
    # by name it paints as the file itself does at that strength.
    plain, _ = run("gallery")  # --style great_wave
    by_file, _ = run("by-file", style=os.path.join(STYLES, "great_wave.jpg"))
    by_file35, _ = run("by-file-35", "--strength", "35", style=os.path.join(STYLES, "great_wave.jpg"))
    check(plain and plain == by_file35 and plain != by_file,
          "--style great_wave paints as the file itself with the entry's strength 35")
    user_pic, _ = run("user-picture", style="my_own_picture", env={"NST_STYLE_PATH": mine + ":" + STYLES})
    check(bool(user_pic), "a picture of NST_STYLE_PATH is used by name")

    # Strength 50 is the default (for a gallery painting: its recommended one), byte for byte.
    fifty, _ = run("strength50", "--strength", "50")
    check(fifty == plain, "--strength 50 gives the same bytes as no --strength")

    # A higher strength: a lower final style term and a higher content term.
    _, low = run("strength5", "--strength", "5")
    _, high = run("strength40", "--strength", "40")
    check(high.get("style", 1e9) < low.get("style", 0) and high.get("content", 0) > low.get("content", 1e9),
          f"strength 40 vs 5: style {high.get('style')} < {low.get('style')}, "
          f"content {high.get('content')} > {low.get('content')}")

    # A raw weight given with strength wins.
    raw, _ = run("raw-wins", "--strength", "5", "--style-weight", "1e5")
    check(raw == by_file, "--strength 5 --style-weight 1e5 is the model's default picture (the raw weight wins "
          "over strength and over the painting's recommended strength)")

    # A gallery entry brings its own style scale unless --style-scale is given.
    udnie, _ = run("udnie", style="udnie")
    udnie2, _ = run("udnie-file-x2", "--style-scale", "2", style=os.path.join(STYLES, "udnie.jpg"))
    udnie1, _ = run("udnie-x1", "--style-scale", "1", style="udnie")
    udnie_file, _ = run("udnie-file", style=os.path.join(STYLES, "udnie.jpg"))
    check(udnie == udnie2 and udnie1 == udnie_file and udnie != udnie_file,
          "udnie runs at its scale 2; --style-scale 1 given wins")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory(prefix="nst-gallery-cli-") as tmp:
        main(tmp)
    print(f"gallery-cli: {failures} failed")
    sys.exit(min(failures, 100))
