# Python-fu (in gimp-console, after common.py and regions_lib.py): bad
# style-masks are refused with a message, the image unchanged.  In the full
# GIMP each refusal would open a message window over the dialog test's.
image, photo, w, h, left, right = offset_photo()
other = Gimp.Image.new(2 * w, h, Gimp.ImageBaseType.RGB)
foreign = save_selection(other, "foreign", 0, 0, w, h)
export_layer(photo, out + "/photo-before-errors.png")
before = layer_names(image)
for what, masks, mention in (("a layer's ID", [photo], "not a channel"),
                             ("a channel of another image", [left, foreign], "not a channel"),
                             ("no item", [left, 999999], "999999"),
                             ("more regions than styles", [left, right, left], "style-masks")):
    status, message = call(image, photo, masks, **styles)
    if status == Gimp.PDBStatusType.SUCCESS or mention not in message:
        raise Exception("%s as a region: %s %r" % (what, status.value_nick, message))
    if layer_names(image) != before:
        raise Exception("a refused call changed the layers: %s" % layer_names(image))
    say("ERROR-OK %s: %s" % (what, message))
export_layer(photo, out + "/photo-after-errors.png")
say("REGIONS-ERRORS-OK")
