# Python-fu (run inside GIMP, after common.py): bad arguments give an error
# status with a message a script author understands, and GIMP stays usable:
# a good call in the same session afterwards succeeds.
# Env: NST_CONTENT, NST_STYLE, NST_MODEL_DIR_SHOWN (folder the vgg19 message must name), NST_OUT.
image = load(env("NST_CONTENT"))
content = image.get_layers()[0]
style_file = Gio.File.new_for_path(env("NST_STYLE"))
style_image = load(env("NST_STYLE"))
style_layer = style_image.get_layers()[0]
quick = dict(size=64, iterations=2)


def expect_error(what, must_mention, target_image=image, target=content, **args):
    args = dict(quick, **args)
    status, message = run_transfer(target_image, target, **args)
    if status == Gimp.PDBStatusType.SUCCESS:
        raise Exception("%s: the call succeeded" % what)
    for word in must_mention:
        if word not in message:
            raise Exception("%s: message %r does not mention %r" % (what, message, word))
    print("ERROR-OK %s: %s" % (what, message))


expect_error("no style", ["style-layer", "style-file"])
expect_error("both styles", ["style-layer", "style-file"], style_layer=style_layer, style_file=style_file)
expect_error("missing model", ["vgg19", env("NST_MODEL_DIR_SHOWN")], style_file=style_file, model="vgg19")
# GIMP itself refuses a file argument that does not exist, before the plug-in runs.
expect_error("missing style file", [],
             style_file=Gio.File.new_for_path("/nonexistent/no-such-picture.png"))

# A memory limit the run cannot meet: the plan refuses before anything starts,
# naming what it needs and what it was given.
expect_error("impossible memory limit", ["even in", "tiles", "1 MiB available", "memory limit"], style_file=style_file,
             max_memory=1)
if len(image.get_layers()) != 1:
    raise Exception("the refused call left a layer behind")

# A device the engine cannot read is refused with the other arguments; a GPU
# that is not there fails naming it.  Replacing, so "untouched" means something.
expect_error("unknown device", ["device", "tpu", "gpu:N"], style_file=style_file, device="tpu")
before = layer_pixels(content, env("NST_OUT") + "/gpu7-before.png")
expect_error("missing GPU", ["gpu:7", "Device"], style_file=style_file, device="gpu:7", output="replace")
if len(image.get_layers()) != 1 or layer_pixels(content, env("NST_OUT") + "/gpu7-after.png") != before:
    raise Exception("the call on a missing GPU changed the image")

tiny = Gimp.Image.new(1, 1, Gimp.ImageBaseType.RGB)
tiny_layer = Gimp.Layer.new(tiny, "tiny", 1, 1, Gimp.ImageType.RGB_IMAGE, 100.0, Gimp.LayerMode.NORMAL)
tiny.insert_layer(tiny_layer, None, 0)
expect_error("1x1 layer", ["1 × 1"], target_image=tiny, target=tiny_layer, style_file=style_file)
if len(tiny.get_layers()) != 1:
    raise Exception("the failed call left a layer behind")

# Nothing can be written into a layer group or a layer whose pixels are locked:
# the call fails at once, in the user's words, and changes nothing (it used to
# run to the end and report success with the layer unchanged).
group = Gimp.GroupLayer.new(image, "group")
image.insert_layer(group, None, 0)
image.insert_layer(Gimp.Layer.new_from_drawable(content, image), group, 0)
expect_error("replace a layer group", ["group", "group", "A new layer above"], target=group,
             style_file=style_file, output="replace")
locked = Gimp.Layer.new_from_drawable(content, image)
locked.set_name("locked")
image.insert_layer(locked, None, 0)
locked.set_lock_content(True)
expect_error("replace locked pixels", ["locked", "locked", "A new layer above"], target=locked,
             style_file=style_file, output="replace")
if [l.get_name() for l in image.get_layers()] != ["locked", "group", content.get_name()]:
    raise Exception("the refused replace calls changed the layers: %s" % [l.get_name() for l in image.get_layers()])
image.remove_layer(locked)
image.remove_layer(group)

layers_before = len(image.get_layers())
status, message = run_transfer(image, content, style_file=style_file, **quick)
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("a good call after the errors failed: %s" % message)
if len(image.get_layers()) != layers_before + 1:
    raise Exception("the good call did not add a layer")
print("ERRORS-OK")
