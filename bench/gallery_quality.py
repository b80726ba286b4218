"""Gallery quality: how clearly each gallery painting stylises a photo (issue #15).

    meson setup build-q --buildtype=release -Dplugin=disabled && ninja -C build-q
    /usr/bin/python3 bench/gallery_quality.py --build build-q [--check]

For each photo (default: skimage's astronaut, chelsea and coffee) and each
painting in --styles (default ../shared/styles/*.jpg) it runs the project's
`nst` at --size (default 320 px) with the engine's defaults plus --nst-args,
plus the painting's entry in --overrides, and reports per pair.  A --styles
folder with a gallery.json (data/styles) is the gallery: each painting is
passed by name (`nst --style great_wave`), so the engine applies the entry's
recommended style scale and strength exactly as it does for a user.

  structure  Pearson correlation of the luminance-gradient magnitude of the
             result with the photo's; luminance Y = .299R+.587G+.114B, both
             pictures area-resized to 64 px width (same height), gradient by
             central differences (numpy.gradient).  1 = edges unchanged.
  style      the style distance ratio: for each of SqueezeNet 1.1's conv1,
             fire2, fire3, fire4, fire5 (PyTorch, ImageNet-normalised input,
             reflect padding in the 3x3 expands as in the engine), Gram/(h*w)
             of result R, photo C (at the working size) and painting P (area-
             resized so that its longest side = working size x style scale, as
             the engine does); per layer ||G_R-G_P||_F / ||G_C-G_P||_F (the
             relative distances ||.-G_P||/||G_P|| divided by each other); the
             figure is the MEAN OF THE FIVE PER-LAYER RATIOS (the per-layer
             ratios are in the JSON).  1 = no closer to the painting than the
             photo was; 0 = the painting's statistics exactly.
  drop       first / last "style" value of the engine's --log (the first
             evaluation of the coarsest stage and the last of the final one).
  drop20     style at evaluation 1 / at evaluation 20: does the preview
             visibly converge in its first seconds.

and writes a contact sheet PNG (photos as rows, paintings as columns, photo
and painting thumbnails on the edges) and results.json into --out.

--overrides FILE is a JSON object keyed by the painting's file stem, e.g.
  {"udnie": {"style_weight_multiplier": 4, "style_scale": 0.5,
             "nst_args": "--tv-weight 0.05"}}
The multiplier scales the style weight in force (the last --style-weight in
--nst-args, else the engine's default read from `nst --help`).  Results are
cached in --out by a hash of the engine arguments (--fresh re-runs them).

Targets (--check exits 1 if any pair misses one): structure in [0.75, 0.95],
style ratio <= 0.35, drop >= 10.
"""
import argparse
import hashlib
import json
import os
import re
import shlex
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F
from PIL import Image, ImageDraw, ImageFont

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
SKIMAGE = "/usr/lib/python3/dist-packages/skimage/data/"
DEFAULT_STYLES = os.path.normpath(os.path.join(ROOT, "..", "shared", "styles"))
DEFAULT_MODELS = os.path.normpath(os.path.join(ROOT, "..", "shared", "models"))
LAYERS = ["conv1", "fire2", "fire3", "fire4", "fire5"]
TARGETS = {"structure": (0.75, 0.95), "style": 0.35, "drop": 10.0}
MEAN = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
STD = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)


# ---- pictures -----------------------------------------------------------------

def load_rgb(path):
    return Image.open(path).convert("RGB")


def fit(img, longest):
    """The engine's nst_image_fit_size + nst_image_resize: area when shrinking, Catmull-Rom when growing."""
    w, h = img.size
    if w >= h:
        nw, nh = longest, max(1, int(np.floor(h / w * longest + 0.5)))
    else:
        nw, nh = max(1, int(np.floor(w / h * longest + 0.5))), longest
    if (nw, nh) == (w, h):
        return img
    return img.resize((nw, nh), Image.BOX if nw < w else Image.BICUBIC)


def to_array(img):
    return np.asarray(img, dtype=np.float64) / 255.0


def structure_kept(photo, result):
    w, h = photo.size
    size = (64, max(1, round(64 * h / w)))
    mags = []
    for img in (photo, result):
        a = to_array(img.resize(size, Image.BOX))
        y = a[..., 0] * 0.299 + a[..., 1] * 0.587 + a[..., 2] * 0.114
        gy, gx = np.gradient(y)
        mags.append(np.hypot(gx, gy).ravel())
    return float(np.corrcoef(mags[0], mags[1])[0, 1])


# ---- SqueezeNet 1.1 features --------------------------------------------------

class Squeeze:
    def __init__(self, folder):
        wdir = os.path.join(folder, "squeezenet1.1", "weights")
        self.w = {}
        for n in range(13):  # conv0 .. conv12 reach fire5
            for kind in ("weight", "bias"):
                self.w[(n, kind)] = torch.from_numpy(np.load(os.path.join(wdir, f"squeezenet0_conv{n}_{kind}.npy")))

    def conv(self, x, n, stride=1, pad=0):
        if pad:
            x = F.pad(x, (pad, pad, pad, pad), mode="reflect")
        return F.relu(F.conv2d(x, self.w[(n, "weight")], self.w[(n, "bias")], stride=stride))

    def fire(self, x, n):
        s = self.conv(x, n)
        return torch.cat([self.conv(s, n + 1), self.conv(s, n + 2, pad=1)], 1)

    @torch.no_grad()
    def grams(self, img):
        x = torch.from_numpy(to_array(img).astype(np.float32)).permute(2, 0, 1)[None]
        x = (x - MEAN) / STD
        feats = {}
        x = feats["conv1"] = self.conv(x, 0, stride=2)
        x = F.max_pool2d(x, 3, 2)
        x = feats["fire2"] = self.fire(x, 1)
        x = feats["fire3"] = self.fire(x, 4)
        x = F.max_pool2d(x, 3, 2)
        x = feats["fire4"] = self.fire(x, 7)
        x = feats["fire5"] = self.fire(x, 10)
        out = {}
        for name in LAYERS:
            f = feats[name][0].double()
            c, h, w = f.shape
            f = f.reshape(c, h * w)
            out[name] = (f @ f.T) / (h * w)
        return out


def style_ratio(net, photo_w, result, painting_w):
    gr, gc, gp = net.grams(result), net.grams(photo_w), net.grams(painting_w)
    per = {}
    for name in LAYERS:
        norm = torch.linalg.norm(gp[name])
        rel_r = float(torch.linalg.norm(gr[name] - gp[name]) / norm)
        rel_c = float(torch.linalg.norm(gc[name] - gp[name]) / norm)
        per[name] = rel_r / rel_c
    return float(np.mean(list(per.values()))), per


# ---- the engine ---------------------------------------------------------------

def engine_default_style_weight(nst):
    text = subprocess.run([nst, "--help"], capture_output=True, text=True).stdout
    m = re.search(r"--style-weight F\s+\(([^)]+)\)", text)
    return float(m.group(1)) if m else 1e5


def last_value(args, flag):
    val = None
    for i, a in enumerate(args):
        if a == flag and i + 1 < len(args):
            val = args[i + 1]
        elif a.startswith(flag + "="):
            val = a.split("=", 1)[1]
    return val


def engine_args(base, override, default_sw):
    """Per-pair engine flags: --nst-args, then the painting's override (last one wins in nst)."""
    args = list(base)
    if override:
        args += shlex.split(override.get("nst_args", ""))
        if "style_weight_multiplier" in override:
            sw = float(last_value(args, "--style-weight") or default_sw)
            args += ["--style-weight", repr(sw * float(override["style_weight_multiplier"]))]
        if "style_scale" in override:
            args += ["--style-scale", repr(float(override["style_scale"]))]
    return args


def stylise(nst, photo, painting, size, args, out, fresh, entry=None, styles=None):
    """One run; a gallery `entry` is passed by name, so the engine applies its
    recommended settings as `nst --style NAME` does for a user."""
    style = entry["name"] if entry else painting
    cmd = [nst, "--content", photo, "--style", style, "--size", str(size)] + args
    key = hashlib.sha1(json.dumps([os.path.abspath(nst), os.path.getmtime(nst), entry] + cmd[1:]).encode()).hexdigest()[:10]
    tag = f"{os.path.splitext(os.path.basename(photo))[0]}-{os.path.splitext(os.path.basename(painting))[0]}-{key}"
    png, log = os.path.join(out, "runs", tag + ".png"), os.path.join(out, "runs", tag + ".jsonl")
    seconds = None
    if fresh or not (os.path.exists(png) and os.path.exists(log)):
        os.makedirs(os.path.dirname(png), exist_ok=True)
        env = dict(os.environ)
        env.setdefault("NST_MODEL_PATH", DEFAULT_MODELS)
        if entry:
            env["NST_STYLE_PATH"] = os.path.abspath(styles)
        t0 = time.time()
        subprocess.run(cmd + ["--output", png, "--log", log, "--quiet"], env=env, check=True)
        seconds = time.time() - t0
    with open(log) as f:
        rows = [json.loads(line) for line in f]
    return png, rows, seconds, cmd + ["--output", png, "--log", log]


# ---- contact sheet ------------------------------------------------------------

def font(size):
    for path in ("/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
                 "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"):
        if os.path.exists(path):
            return ImageFont.truetype(path, size)
    return ImageFont.load_default()


def thumb(img, cell):
    img = img.copy()
    img.thumbnail((cell, cell), Image.LANCZOS)
    return img


def contact_sheet(photos, paintings, results, path, cell, title):
    pad, label_h, head = 6, 30, 28
    cols, rows = len(paintings) + 1, len(photos) + 1
    W = cols * (cell + pad) + pad
    H = head + rows * (cell + label_h + pad) + pad
    sheet = Image.new("RGB", (W, H), "white")
    d = ImageDraw.Draw(sheet)
    f_big, f_small = font(14), font(11)
    d.text((pad, 6), title, fill="black", font=f_big)

    def put(img, c, r, text, bad=False):
        x = pad + c * (cell + pad)
        y = head + r * (cell + label_h + pad)
        t = thumb(img, cell)
        sheet.paste(t, (x + (cell - t.width) // 2, y + (cell - t.height) // 2))
        for i, line in enumerate(text.split("\n")[:2]):
            d.text((x, y + cell + 2 + 13 * i), line, fill="red" if bad and i == 1 else "black", font=f_small)

    for c, (pname, ppath) in enumerate(paintings, start=1):
        put(load_rgb(ppath), c, 0, pname)
    for r, (name, ppath) in enumerate(photos, start=1):
        put(load_rgb(ppath), 0, r, name)
        for c, (pname, _) in enumerate(paintings, start=1):
            res = results[(name, pname)]
            put(load_rgb(res["output"]), c, r,
                f"{pname}\nS {res['structure']:.2f}  D {res['style']:.2f}  x{res['drop']:.0f}", not res["ok"])
    sheet.save(path)


# ---- main ---------------------------------------------------------------------

def resolve_photo(name):
    if os.path.exists(name):
        return os.path.splitext(os.path.basename(name))[0], name
    for ext in (".png", ".jpg"):
        if os.path.exists(SKIMAGE + name + ext):
            return name, SKIMAGE + name + ext
    sys.exit(f"gallery_quality: no photo '{name}' (a path, or a name in {SKIMAGE})")


def meets(r):
    lo, hi = TARGETS["structure"]
    return lo <= r["structure"] <= hi and r["style"] <= TARGETS["style"] and r["drop"] >= TARGETS["drop"]


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter, epilog=__doc__)
    ap.add_argument("--size", type=int, default=320, help="working size in px (320)")
    ap.add_argument("--photos", default="astronaut,chelsea,coffee", help="comma-separated skimage names or paths")
    ap.add_argument("--styles", default=DEFAULT_STYLES, help="folder of paintings (*.jpg) (../shared/styles)")
    ap.add_argument("--paintings", help="comma-separated file stems: only these paintings")
    ap.add_argument("--build", default="build", help="meson build folder with cli/nst")
    ap.add_argument("--out", default=os.path.join(ROOT, "out", "gallery-quality"), help="folder for runs and sheet")
    ap.add_argument("--sheet", default="contact_sheet.png", help="contact sheet file name inside --out")
    ap.add_argument("--nst-args", default="", help="extra engine flags for every run, one string")
    ap.add_argument("--overrides", help="JSON file of per-painting settings (see below)")
    ap.add_argument("--cell", type=int, default=200, help="contact sheet cell size in px")
    ap.add_argument("--fresh", action="store_true", help="re-run the engine even where a cached result exists")
    ap.add_argument("--check", action="store_true", help="exit 1 if a pair misses a target")
    args = ap.parse_args()

    nst = os.path.join(args.build, "cli", "nst")
    if not os.access(nst, os.X_OK):
        sys.exit(f"gallery_quality: {nst} is missing; build first (ninja -C {args.build})")
    photos = [resolve_photo(p) for p in args.photos.split(",") if p]
    paintings = sorted((os.path.splitext(f)[0], os.path.join(args.styles, f))
                       for f in os.listdir(args.styles) if f.lower().endswith((".jpg", ".jpeg", ".png")))
    gallery = {}  # a folder with a gallery.json is run by name, with each entry's own settings
    index = os.path.join(args.styles, "gallery.json")
    if os.path.exists(index):
        with open(index) as f:
            gallery = {e["name"]: e for e in json.load(f)["styles"]}
        paintings = [(name, os.path.join(args.styles, e["file"])) for name, e in sorted(gallery.items())]
    if args.paintings:
        keep = args.paintings.split(",")
        paintings = [p for p in paintings if p[0] in keep]
    if not paintings:
        sys.exit(f"gallery_quality: no paintings in {args.styles}")
    overrides = {}
    if args.overrides:
        with open(args.overrides) as f:
            overrides = {k: v for k, v in json.load(f).items() if not k.startswith("_")}
    base = shlex.split(args.nst_args)
    default_sw = engine_default_style_weight(nst)
    os.makedirs(args.out, exist_ok=True)
    models = os.environ.get("NST_MODEL_PATH", DEFAULT_MODELS).split(":")[0]
    net = Squeeze(models)
    torch.set_num_threads(2)

    print(f"size {args.size}, nst args: {' '.join(base) or '(defaults)'}"
          + (f", overrides {args.overrides}" if args.overrides else ""))
    print(f"{'photo':<10} {'painting':<26} {'structure':>9} {'style':>6} {'drop':>7} {'drop20':>7} "
          f"{'sec':>5}  {'per-layer style ratio conv1..fire5':<34} ok")
    results, failed = {}, 0
    for pname, ppath in paintings:
        pargs = engine_args(base, overrides.get(pname), default_sw)
        entry = gallery.get(pname)
        scale = float(last_value(pargs, "--style-scale") or (entry or {}).get("style_scale", 1.0))
        size = args.size
        painting_w = fit(load_rgb(ppath), max(1, int(round(size * scale))))
        for name, photo_path in photos:
            png, rows, seconds, cmd = stylise(nst, photo_path, ppath, size, pargs, args.out, args.fresh, entry,
                                              args.styles)
            photo = load_rgb(photo_path)
            result = load_rgb(png)
            photo_w = fit(photo, size)
            st = structure_kept(photo, result)
            ratio, per = style_ratio(net, photo_w, result, painting_w)
            styles = [r["style"] for r in rows]
            drop = styles[0] / styles[-1] if styles[-1] > 0 else float("inf")
            drop20 = styles[0] / styles[min(19, len(styles) - 1)]
            last_stage = rows[-1].get("stage", 0)
            final = [r["style"] for r in rows if r.get("stage", 0) == last_stage]
            r = {"photo": name, "painting": pname, "output": png, "structure": st, "style": ratio,
                 "style_per_layer": per, "drop": drop, "drop20": drop20,
                 "final_stage_drop": final[0] / final[-1] if final[-1] > 0 else None,
                 "evaluations": len(rows), "seconds": rows[-1].get("seconds"), "command": " ".join(map(shlex.quote, cmd))}
            r["ok"] = meets(r)
            failed += not r["ok"]
            results[(name, pname)] = r
            layers = " ".join(f"{per[k]:.2f}" for k in LAYERS)
            print(f"{name:<10} {pname:<26} {st:>9.3f} {ratio:>6.3f} {drop:>7.1f} {drop20:>7.1f} "
                  f"{r['seconds'] or 0:>5.1f}  {layers:<34} {'yes' if r['ok'] else 'NO'}", flush=True)
    for pname, _ in paintings:
        rs = [results[(n, pname)] for n, _ in photos]
        print(f"  mean {pname:<26} structure {np.mean([r['structure'] for r in rs]):.3f}  "
              f"style {np.mean([r['style'] for r in rs]):.3f}  drop {np.mean([r['drop'] for r in rs]):.1f}")
    sheet = os.path.join(args.out, args.sheet)
    title = (f"gallery_quality  size {args.size}  {' '.join(base) or 'defaults'}"
             + (f"  overrides {os.path.basename(args.overrides)}" if args.overrides else "")
             + "   S structure kept, D style distance ratio, x style drop")
    contact_sheet(photos, paintings, results, sheet, args.cell, title)
    with open(os.path.join(args.out, os.path.splitext(args.sheet)[0] + ".json"), "w") as f:
        json.dump({"size": args.size, "nst_args": args.nst_args, "overrides": overrides, "targets": TARGETS,
                   "results": list(results.values())}, f, indent=1)
    print(f"{len(results) - failed} of {len(results)} pairs meet the targets "
          f"(structure {TARGETS['structure'][0]}-{TARGETS['structure'][1]}, style <= {TARGETS['style']}, "
          f"drop >= {TARGETS['drop']}); contact sheet {sheet}")
    if args.check and failed:
        sys.exit(1)


if __name__ == "__main__":
    main()
