# Python-fu (run inside the full GIMP under Xvfb, after common.py): a
# 24-megapixel photo the way a user runs it.  The dialog opens with size 0
# (the layer's own size); test-big-picture.sh waits for the run and presses
# OK.  Then the result must be one new layer at the photo's full size, and is
# exported for the seam and picture checks.
# Env: NST_CONTENT, NST_STYLE, NST_OUT, NST_ITERATIONS.

out = env("NST_OUT")
image = open_in_display(env("NST_CONTENT"))
content = image.get_layers()[0]


proc, cfg = transfer_config(image, content, style_file=Gio.File.new_for_path(env("NST_STYLE")), size=0,
                            iterations=int(env("NST_ITERATIONS")))
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
say("OPEN-DIALOG")
status = proc.run(cfg).index(0)
say("dialog closed: %s" % status.value_nick)
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("OK returned %s: %s" % (status.value_nick, Gimp.get_pdb().get_last_error()))
layers = image.get_layers()
say("layers after OK: %s" % [(l.get_name(), l.get_width(), l.get_height()) for l in layers])
if len(layers) != 2 or (layers[0].get_width(), layers[0].get_height()) != (content.get_width(), content.get_height()):
    raise Exception("expected one result layer the size of the photo on top of it")
export_layer(layers[0], out + "/result.png")
export_layer(layers[1], out + "/content-after.png")
say("BIG-PICTURE-OK")
