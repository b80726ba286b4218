# Python-fu (run inside GIMP): the procedure is registered with every
# argument under its documented name, in the documented menu.  (Aux
# arguments live in the plug-in only; the dialog test covers them.)
# Env: NST_EXPECT_LABEL (menu label expected in the current language).
import os
import sys
from gi.repository import Gimp

NAME = "plug-in-neural-style-transfer"
ARGS = ["style-layer", "style-file", "model", "content-weight", "style-weight",
        "tv-weight", "iterations", "optimizer", "learning-rate", "size", "init", "seed",
        "preserve-colors", "style-scale", "output", "device"]

proc = Gimp.get_pdb().lookup_procedure(NAME)
if proc is None:
    raise Exception("procedure %s is not registered" % NAME)
names = [p.get_name() for p in proc.get_arguments()]
print("arguments:", names)
missing = [a for a in ARGS if a not in names]
if missing:
    raise Exception("missing arguments: %s" % missing)
if names[:3] != ["run-mode", "image", "drawables"]:
    raise Exception("not an image procedure: %s" % names[:3])
# Appended last, so scripts that pass the arguments by position keep working.
if names[-1] != "device":
    raise Exception("device is not the last argument: %s" % names[-3:])

label = proc.get_menu_label()
paths = proc.get_menu_paths()
print("menu label:", label, "paths:", paths)
if label != os.environ["NST_EXPECT_LABEL"]:
    raise Exception("menu label %r, expected %r" % (label, os.environ["NST_EXPECT_LABEL"]))
if "<Image>/Filters/Artistic" not in paths:
    raise Exception("not in Filters/Artistic: %s" % paths)
if not proc.get_blurb() or not proc.get_help():
    raise Exception("no documentation")

cfg = proc.create_config()
defaults = {a: cfg.get_property(a) for a in ARGS if a not in ("style-layer", "style-file")}
print("defaults:", defaults)
for a, v in defaults.items():
    print("default %s=%s" % (a, v))
if defaults["model"] != "squeezenet1.1" or defaults["output"] != "new-layer" or defaults["device"] != "auto":
    raise Exception("unexpected defaults: %s" % defaults)
if cfg.get_property("style-layer") is not None or cfg.get_property("style-file") is not None:
    raise Exception("a style source is set by default")
print("REGISTER-OK")
