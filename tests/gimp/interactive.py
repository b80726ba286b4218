# Python-fu (run inside the full GIMP under Xvfb, after common.py): two
# interactive calls that test-interactive.sh drives with xdotool.  The first
# is cancelled: the image must be exactly as before.  The second is
# confirmed with OK: one new layer named after the style, no preview left,
# and one Ctrl+Z (pressed by the driver) removes it again.
# Env: NST_CONTENT, NST_STYLE, NST_OUT, NST_SIZE, NST_ITERATIONS_CANCEL, NST_ITERATIONS_OK.

out = env("NST_OUT")
image = open_in_display(env("NST_CONTENT"))
content = image.get_layers()[0]
style_file = Gio.File.new_for_path(env("NST_STYLE"))


def snapshot(tag):
    layers = image.get_layers()
    for i, layer in enumerate(layers):
        export_layer(layer, "%s/%s-layer%d.png" % (out, tag, i))
    return [l.get_name() for l in layers], image.is_dirty()


def interactive(iterations):
    proc, cfg = transfer_config(image, content, style_file=style_file, size=int(env("NST_SIZE")),
                                iterations=iterations)
    cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
    status = proc.run(cfg).index(0)
    say("dialog closed: %s" % status.value_nick)
    return status


before = snapshot("cancel-before")
say("OPEN-DIALOG-1")
status = interactive(int(env("NST_ITERATIONS_CANCEL")))
if status != Gimp.PDBStatusType.CANCEL:
    raise Exception("the cancelled dialog returned %s" % status.value_nick)
after = snapshot("cancel-after")
say("state before %s, after cancel %s" % (before, after))
if before != after:
    raise Exception("Cancel changed the layers or the dirty flag: %s -> %s" % (before, after))
say("CANCEL-CHECKED")

say("OPEN-DIALOG-2")
status = interactive(int(env("NST_ITERATIONS_OK")))
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("OK returned %s: %s" % (status.value_nick, Gimp.get_pdb().get_last_error()))
names = [l.get_name() for l in image.get_layers()]
say("layers after OK: %s" % names)
expected = ["Style: " + os.path.splitext(os.path.basename(env("NST_STYLE")))[0], before[0][0]]
if names != expected:
    raise Exception("after OK the layers are %s, expected %s" % (names, expected))
export_layer(image.get_layers()[0], out + "/ok-result.png")
say("INTERACTIVE-OK")
import time


def wait_for_file(name):
    for _ in range(200):
        if os.path.exists(out + "/" + name):
            return
        time.sleep(0.3)
    raise Exception("the driver never made " + name)


# Keep GIMP up until the driver has its screenshot of the result, then let it
# press Ctrl+Z once: the result must be a single undo step.
wait_for_file("screenshots-done")
say("READY-FOR-UNDO")
wait_for_file("undo-done")
for _ in range(50):
    if [l.get_name() for l in image.get_layers()] == before[0]:
        break
    time.sleep(0.2)
names = [l.get_name() for l in image.get_layers()]
say("layers after one undo: %s" % names)
if names != before[0]:
    raise Exception("one undo left the layers %s, expected %s" % (names, before[0]))
export_layer(image.get_layers()[0], out + "/undo-layer0.png")
say("UNDO-OK")

# Repeat with the last values (the OK run stored them, aux style source included).
proc, cfg = transfer_config(image, content)
cfg.set_property("run-mode", Gimp.RunMode.WITH_LAST_VALS)
status = proc.run(cfg).index(0)
names = [l.get_name() for l in image.get_layers()]
say("with last values: %s, layers %s" % (status.value_nick, names))
if status != Gimp.PDBStatusType.SUCCESS or len(names) != 2 or names[0] != expected[0]:
    raise Exception("the run with the last values did not add a second result layer")
say("LAST-VALS-OK")
