# Python-fu (run inside GIMP, after common.py): the gallery, Strength and
# several styles from a script.  One call with a style layer, strength and a
# gallery painting blended in (style-presets, style-blend); a result layer
# named after both; a typo in style-preset names the close painting;
# style-blend of the wrong length is refused.
# Env: NST_CONTENT, NST_STYLE_LAYER_PICTURE, NST_OUT.
out = env("NST_OUT")
image = load(env("NST_CONTENT"))
content = image.get_layers()[0]
style_image = load(env("NST_STYLE_LAYER_PICTURE"))
style_layer = style_image.get_layers()[0]
quick = dict(size=96, iterations=12)


def call(**args):
    special = ("style_blend",)
    proc, cfg = transfer_config(image, content, **dict(quick, **{k: v for k, v in args.items() if k not in special}))
    if "style_blend" in args:
        set_double_array(cfg, "style-blend", args["style_blend"])
    result = proc.run(cfg)
    status = result.index(0)
    message = Gimp.get_pdb().get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""
    print("call %s -> %s %s" % (sorted(args), status.value_nick, message))
    return status, message


status, message = call(style_layer=style_layer, style_presets=["great_wave"], strength=70.0, style_blend=[1.0, 2.0])
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("layer + preset + strength failed: %s" % message)
layers = image.get_layers()
names = [l.get_name() for l in layers]
print("layers after:", names)
expected = "Style: %s + great_wave" % style_layer.get_name()
if len(layers) != 2 or names[0] != expected:
    raise Exception("expected one new layer %r above the content, got %s" % (expected, names))
export_layer(content, out + "/content.png")
export_layer(layers[0], out + "/preset-and-layer.png")

status, message = call(style_preset="starry_nite")
if status == Gimp.PDBStatusType.SUCCESS or "starry_night" not in message:
    raise Exception("a typo in style-preset: %s %r" % (status.value_nick, message))
print("ERROR-OK typo: %s" % message)
status, message = call(style_preset="udnie", style_presets=["the_scream"], style_blend=[1.0])
if status == Gimp.PDBStatusType.SUCCESS or "style-blend" not in message:
    raise Exception("a style-blend of the wrong length: %s %r" % (status.value_nick, message))
print("ERROR-OK blend: %s" % message)
status, message = call(style_preset="udnie", style_file=Gio.File.new_for_path(env("NST_STYLE_LAYER_PICTURE")))
if status == Gimp.PDBStatusType.SUCCESS or "style-preset" not in message:
    raise Exception("two single styles: %s %r" % (status.value_nick, message))
print("ERROR-OK two: %s" % message)
if len(image.get_layers()) != 2:
    raise Exception("a refused call left a layer")
print("GALLERY-BATCH-OK")
