# Python-fu (run inside gimp-console-3.0 under Xvfb, after common.py): the
# dialog with a style layer and a gallery painting blended in (the script's
# style-presets fill the dialog's second slot); the test driver screenshots
# it and closes it.
# Env: NST_CONTENT, NST_STYLE_LAYER_PICTURE.
image = load(env("NST_CONTENT"))
content = image.get_layers()[0]
style_image = load(env("NST_STYLE_LAYER_PICTURE"))
style_layer = Gimp.Layer.new_from_drawable(style_image.get_layers()[0], image)
image.insert_layer(style_layer, None, 1)
style_layer.set_name("my brushwork")
proc, cfg = transfer_config(image, content, style_layer=style_layer, style_presets=["the_scream"], size=64,
                            iterations=3)
set_double_array(cfg, "style-blend", [1.0, 0.5])
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
print("dialog closed: %s" % proc.run(cfg).index(0).value_nick)
print("DIALOG-DONE")
