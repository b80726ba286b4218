# Python-fu (run inside the full GIMP under Xvfb, after common.py): the
# dialog runs with its live preview until test-stale-preview.sh kills the
# plug-in process (SIGKILL).  The preview layer stays behind; the next run of
# the plug-in on the image must remove it and leave the user's layers as
# they were.  Env: NST_CONTENT, NST_STYLE, NST_OUT.
out = env("NST_OUT")
image = open_in_display(env("NST_CONTENT"))
content = image.get_layers()[0]
style_file = Gio.File.new_for_path(env("NST_STYLE"))
content_name = content.get_name()
before = layer_pixels(content, out + "/before.png")

proc, cfg = transfer_config(image, content, style_file=style_file, size=64, iterations=5000)
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
say("OPEN-DIALOG")
status = proc.run(cfg).index(0)
names = [l.get_name() for l in image.get_layers()]
say("the killed run returned %s; layers %s" % (status.value_nick, names))
if names != ["Neural style preview", content_name]:
    raise Exception("after the kill the layers are %s: no preview was left to clean up" % names)
if not image.undo_is_enabled():
    raise Exception("the killed run left the image's undo frozen")

status, message = run_transfer(image, content, style_file=style_file, size=64, iterations=2)
names = [l.get_name() for l in image.get_layers()]
say("the next run: %s; layers %s" % (status.value_nick, names))
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("the next run failed: %s" % message)
if names != ["Style: " + os.path.splitext(os.path.basename(env("NST_STYLE")))[0], content_name]:
    raise Exception("the next run left the layers %s (the stale preview must go, the rest stay)" % names)
if layer_pixels(image.get_layers()[1], out + "/after.png") != before:
    raise Exception("the user's layer changed")
say("STALE-PREVIEW-OK")
