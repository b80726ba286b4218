# Helpers for the Python-fu scripts run inside GIMP (exec'd before them).
import os
import sys
from gi.repository import Gimp, Gio

NAME = "plug-in-neural-style-transfer"


def env(name, default=None):
    value = os.environ.get(name, default)
    if value is None:
        raise Exception("environment variable %s is not set" % name)
    return value


def load(path):
    return Gimp.file_load(Gimp.RunMode.NONINTERACTIVE, Gio.File.new_for_path(path))


def export_layer(layer, path):
    """Saves one layer alone (its own pixels, not the composite) as PNG."""
    tmp = Gimp.Image.new(layer.get_width(), layer.get_height(), Gimp.ImageBaseType.RGB)
    copy = Gimp.Layer.new_from_drawable(layer, tmp)
    tmp.insert_layer(copy, None, 0)
    copy.set_offsets(0, 0)
    Gimp.file_save(Gimp.RunMode.NONINTERACTIVE, tmp, Gio.File.new_for_path(path), None)
    tmp.delete()


def transfer_config(image, layer, **args):
    """A config for a non-interactive call; keyword names use _ for -."""
    proc = Gimp.get_pdb().lookup_procedure(NAME)
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("image", image)
    cfg.set_core_object_array("drawables", [layer])
    for key, value in args.items():
        cfg.set_property(key.replace("_", "-"), value)
    return proc, cfg


def run_transfer(image, layer, **args):
    """Runs the plug-in; returns (status, error message)."""
    proc, cfg = transfer_config(image, layer, **args)
    result = proc.run(cfg)
    status = result.index(0)
    message = Gimp.get_pdb().get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""
    print("run %s -> %s %s" % (sorted(args), status.value_nick, message))
    return status, message


def open_in_display(path):
    """Loads a picture into a new image shown in a window, as a user opens it."""
    image = load(path)
    Gimp.Display.new(image)
    Gimp.displays_flush()
    image.clean_all()
    return image


def say(text):
    """A line for the test driver, which watches GIMP's output."""
    print(text)
    sys.stdout.flush()


def layer_pixels(layer, path):
    """The layer's own pixels (RGBA bytes), exported to `path` on the way."""
    from PIL import Image
    export_layer(layer, path)
    return Image.open(path).convert("RGBA").tobytes()


def wait_for_file(folder, name, tries=400):
    """Waits for the test driver to make `name` in `folder`."""
    import time
    for _ in range(tries):
        if os.path.exists(os.path.join(folder, name)):
            return
        time.sleep(0.3)
    raise Exception("the driver never made " + name)


def set_array(cfg, name, values, kind="double"):
    """PyGObject cannot convert a list to a GimpDoubleArray (kind "double") or
    GimpInt32Array ("int32") property: go through a GValue."""
    from gi.repository import GObject
    gtype = getattr(Gimp, kind.capitalize() + "Array")
    value = GObject.Value(gtype)
    getattr(Gimp, "value_set_%s_array" % kind)(value, values)
    errors = []
    for attempt in (lambda: cfg.set_property(name, value.get_boxed()),
                    lambda: GObject.Object.set_property(cfg, name, value)):
        try:
            attempt()
            got = getattr(Gimp, "value_get_%s_array" % kind)(GObject.Value(gtype, cfg.get_property(name)))
            print("%s set to" % name, list(got))
            return
        except Exception as e:
            errors.append(repr(e))
    raise Exception("cannot set %s: %s" % (name, errors))


def set_double_array(cfg, name, values):
    set_array(cfg, name, values, "double")
