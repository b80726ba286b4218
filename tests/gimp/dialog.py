# Python-fu (run inside gimp-console-3.0 under Xvfb, after common.py): opens
# the dialog once; test-i18n.sh looks at it and closes it.
# Env: NST_CONTENT, NST_STYLE.
image = load(env("NST_CONTENT"))
content = image.get_layers()[0]
proc, cfg = transfer_config(image, content, style_file=Gio.File.new_for_path(env("NST_STYLE")), size=64,
                            iterations=3)
cfg.set_property("run-mode", Gimp.RunMode.INTERACTIVE)
print("dialog closed: %s" % proc.run(cfg).index(0).value_nick)
print("DIALOG-DONE")
