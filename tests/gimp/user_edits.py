# Python-fu (run inside the full GIMP under Xvfb, after common.py): while the
# dialog is open with its live preview, the user (test-user-edits.sh, with
# xdotool) selects all and clears the style layer in the image window, then
# changes the seed.  The restarted run must read the repainted style layer;
# after Cancel the user's two edits must still be there, the image dirty (it
# was clean before: Cancel must not mark it clean), and two Ctrl+Z must undo
# them.  Env: NST_CONTENT, NST_STYLE, NST_OUT.
out = env("NST_OUT")
image = open_in_display(env("NST_CONTENT"))
content = image.get_layers()[0]
style_image = load(env("NST_STYLE"))
style = Gimp.Layer.new_from_drawable(style_image.get_layers()[0], image)
style.set_name("style")
image.insert_layer(style, None, 1)
style_image.delete()
# The user's keys act on the selected layer: the style, not the content.
image.set_selected_layers([style])
Gimp.displays_flush()
image.clean_all()
style_before = layer_pixels(style, out + "/style-before.png")

proc, cfg = transfer_config(image, content, style_layer=style, size=64, iterations=5000)
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
say("OPEN-DIALOG")
status = proc.run(cfg).index(0)
say("dialog closed: %s" % status.value_nick)
if status != Gimp.PDBStatusType.CANCEL:
    raise Exception("the cancelled dialog returned %s" % status.value_nick)
names = [l.get_name() for l in image.get_layers()]
empty = Gimp.Selection.is_empty(image)
dirty = image.is_dirty()
cleared = layer_pixels(style, out + "/style-cleared.png") != style_before
say("after Cancel: layers %s, selection empty %s, dirty %s, style cleared %s" % (names, empty, dirty, cleared))
if names != [content.get_name(), "style"]:
    raise Exception("Cancel left the layers %s" % names)
if empty or not cleared:
    raise Exception("the user's edits made while the dialog was open are gone")
if not dirty:
    raise Exception("the image holds the user's unsaved edits but is marked clean")
say("EDITS-KEPT")

wait_for_file(out, "undo-done")
for _ in range(50):
    if Gimp.Selection.is_empty(image) and layer_pixels(style, out + "/style-undone.png") == style_before:
        break
    import time
    time.sleep(0.2)
if not Gimp.Selection.is_empty(image):
    raise Exception("Ctrl+Z did not undo the selection made while the dialog was open")
if layer_pixels(style, out + "/style-undone.png") != style_before:
    raise Exception("Ctrl+Z did not undo the clearing of the style layer made while the dialog was open")
say("UNDO-OK")
