# Python-fu (run inside GIMP, after common.py): one non-interactive call with
# the style from a layer (NST_STYLE_FROM=layer, the layer of another image)
# or from a file, a new layer expected above the content.
# Env: NST_CONTENT, NST_STYLE, NST_STYLE_FROM, NST_SIZE, NST_ITERATIONS, NST_SEED, NST_INIT,
#      NST_DEVICE (optional), NST_OUT (folder for before.png, after.png, result.png).
out = env("NST_OUT")
image = load(env("NST_CONTENT"))
content = image.get_layers()[0]
export_layer(content, out + "/before.png")

args = dict(size=int(env("NST_SIZE")), iterations=int(env("NST_ITERATIONS")), seed=int(env("NST_SEED", "0")),
            init=env("NST_INIT", "content"))
if env("NST_DEVICE", ""):
    args["device"] = env("NST_DEVICE")
if env("NST_STYLE_FROM") == "layer":
    style_image = load(env("NST_STYLE"))
    style_layer = style_image.get_layers()[0]
    args["style_layer"] = style_layer
    expected_name = "Style: " + style_layer.get_name()
else:
    args["style_file"] = Gio.File.new_for_path(env("NST_STYLE"))
    expected_name = "Style: " + os.path.splitext(os.path.basename(env("NST_STYLE")))[0]

status, message = run_transfer(image, content, **args)
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("the plug-in failed: %s" % message)

layers = image.get_layers()
print("layers after:", [l.get_name() for l in layers])
if len(layers) != 2 or layers[1].get_id() != content.get_id():
    raise Exception("expected one new layer above the content, got %s" % [l.get_name() for l in layers])
result = layers[0]
if result.get_name() != expected_name:
    raise Exception("result layer named %r, expected %r" % (result.get_name(), expected_name))
if (result.get_width(), result.get_height()) != (content.get_width(), content.get_height()):
    raise Exception("result is %dx%d, content %dx%d" % (result.get_width(), result.get_height(),
                                                        content.get_width(), content.get_height()))
if result.get_offsets()[1:] != content.get_offsets()[1:]:
    raise Exception("result offsets %s differ from the content's %s" % (result.get_offsets(), content.get_offsets()))
export_layer(content, out + "/after.png")
export_layer(result, out + "/result.png")
print("BATCH-OK")
