# Python-fu helpers for the regions scripts (exec'd after common.py, before
# regions.py or regions_errors.py): the photo's layer in the right half of a
# canvas twice its width (so a region that ignored the offsets would miss
# it), with two saved selections over the layer's left and right halves.
# Env: NST_CONTENT, NST_OUT, NST_SIZE, NST_ITERATIONS.
out = env("NST_OUT")
quick = dict(size=int(env("NST_SIZE")), iterations=int(env("NST_ITERATIONS")), seed=7)
STYLE_1, STYLE_2 = "starry_night", "the_scream"


def layer_names(image):
    return [l.get_name() for l in image.get_layers()]


def save_selection(image, name, x, y, w, h):
    image.select_rectangle(Gimp.ChannelOps.REPLACE, x, y, w, h)
    channel = Gimp.Selection.save(image)
    channel.set_name(name)
    Gimp.Selection.none(image)
    return channel


def call(image, layer, masks, **args):
    proc, cfg = transfer_config(image, layer, **dict(quick, **args))
    if masks is not None:
        set_array(cfg, "style-masks", [m if isinstance(m, int) else m.get_id() for m in masks], "int32")
    result = proc.run(cfg)
    status = result.index(0)
    message = Gimp.get_pdb().get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""
    say("call %s masks %s -> %s %s" % (sorted(args), masks and [getattr(m, "get_name", lambda: m)() for m in masks],
                                        status.value_nick, message))
    return status, message


def offset_photo():
    """(image, photo layer, width, height, left channel, right channel)."""
    image = load(env("NST_CONTENT"))
    photo = image.get_layers()[0]
    photo.set_name("photo")
    w, h = photo.get_width(), photo.get_height()
    image.resize(2 * w, h, w, 0)  # the photo now at x = w
    left = save_selection(image, "left", w, 0, w // 2, h)
    right = save_selection(image, "right", w + w // 2, 0, w - w // 2, h)
    return image, photo, w, h, left, right


styles = dict(style_preset=STYLE_1, style_presets=[STYLE_2], strength=80.0)
