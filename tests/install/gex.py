# Python-fu (after tests/gimp/common.py): what GIMP 3 does with the .gex.
# NST_GEX_STEP=install: open the .gex as GIMP's File > Open does (file-gex-load);
# NST_GEX_STEP=probe: say whether the plug-in's procedure is registered.
step = env("NST_GEX_STEP")
pdb = Gimp.get_pdb()
if step == "install":
    proc = pdb.lookup_procedure("file-gex-load")
    if proc is None:
        raise Exception("this GIMP has no file-gex-load")
    cfg = proc.create_config()
    cfg.set_property("run-mode", Gimp.RunMode.NONINTERACTIVE)
    cfg.set_property("file", Gio.File.new_for_path(env("NST_GEX")))
    result = proc.run(cfg)
    status = result.index(0)
    print("GEX-LOAD-STATUS %s %s" % (status.value_nick,
          pdb.get_last_error() if status != Gimp.PDBStatusType.SUCCESS else ""))
else:
    print("GEX-PROBE registered=%s" % (pdb.lookup_procedure(NAME) is not None))
