# Python-fu (run inside the full GIMP under Xvfb, after common.py and
# regions_lib.py): a style per region (issue #13), driven by test-regions.sh.
# Batch, on regions_lib's offset photo with its two saved selections: a call
# with style-preset, strength, style-presets and style-masks adds one result
# layer, the photo's layer unchanged, and one Ctrl+Z (pressed by the driver)
# takes it away; the same with the masks swapped, and with a layer mask (of a
# layer offset over the photo's right half) for the right half.  The driver
# compares the halves' Grams with the paintings.
# Dialog: a new image with "sky" and "ground" selections, the dialog opened
# with The Great Wave on the sky and The Scream on the ground (the script's
# style-masks fill the slots' Region choices); the driver screenshots it,
# presses OK, then Ctrl+Z.


def wait_undo(image, tag, before):
    """The driver presses Ctrl+Z once in the image window: the layers must be as before."""
    import time
    Gimp.displays_flush()
    say("READY-FOR-UNDO " + tag)
    wait_for_file(out, "undo-" + tag)
    for _ in range(50):
        if layer_names(image) == before:
            break
        time.sleep(0.2)
    if layer_names(image) != before:
        raise Exception("one undo left the layers %s, expected %s" % (layer_names(image), before))
    say("UNDO-OK " + tag)


# ---- batch ----------------------------------------------------------------
image, photo, w, h, left, right = offset_photo()
display = Gimp.Display.new(image)
export_layer(photo, out + "/photo-before.png")
before = layer_names(image)


def regions_run(tag, masks):
    status, message = call(image, photo, masks, **styles)
    if status != Gimp.PDBStatusType.SUCCESS:
        raise Exception("%s: the call failed: %s" % (tag, message))
    names = layer_names(image)
    expected = ["Style: %s + %s" % (STYLE_1, STYLE_2)] + before
    if names != expected:
        raise Exception("%s: expected the layers %s, got %s" % (tag, expected, names))
    export_layer(image.get_layers()[0], "%s/%s.png" % (out, tag))
    export_layer(photo, "%s/%s-photo.png" % (out, tag))
    say("RESULT %s" % tag)


regions_run("channels", [left, right])
wait_undo(image, "channels", before)
regions_run("swapped", [right, left])
image.remove_layer(image.get_layers()[0])
# A layer mask: a layer over the photo's right half, its mask all white.
half = Gimp.Layer.new(image, "right half", w - w // 2, h, Gimp.ImageType.RGBA_IMAGE, 100.0,
                      Gimp.LayerMode.NORMAL)
image.insert_layer(half, None, len(image.get_layers()))
half.set_offsets(w + w // 2, 0)
half.set_visible(False)
mask = half.create_mask(Gimp.AddMaskType.WHITE)
half.add_mask(mask)
before = layer_names(image)
regions_run("layer-mask", [left, mask])
say("BATCH-OK")
display.delete()  # one image window at a time, for the driver's Ctrl+Z

# ---- the dialog -------------------------------------------------------------
image = load(env("NST_CONTENT"))
display = Gimp.Display.new(image)
photo = image.get_layers()[0]
photo.set_name("photo")
sky = save_selection(image, "sky", 0, 0, w, h * 2 // 5)
ground = save_selection(image, "ground", 0, h * 2 // 5, w, h - h * 2 // 5)
image.clean_all()
Gimp.displays_flush()
before = layer_names(image)
proc, cfg = transfer_config(image, photo, style_preset="great_wave", style_presets=["the_scream"], strength=70.0,
                            **quick)
set_array(cfg, "style-masks", [sky.get_id(), ground.get_id()], "int32")
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
say("OPEN-DIALOG")
status = proc.run(cfg).index(0)
if status != Gimp.PDBStatusType.SUCCESS:
    raise Exception("OK returned %s: %s" % (status.value_nick, Gimp.get_pdb().get_last_error()))
names = layer_names(image)
if names != ["Style: great_wave + the_scream"] + before:
    raise Exception("after OK the layers are %s" % names)
export_layer(image.get_layers()[0], out + "/dialog-result.png")
say("DIALOG-OK")
wait_undo(image, "dialog", before)
say("REGIONS-DONE")
