#!/usr/bin/env python3
"""What can be checked of the Flatpak manifest without Flathub (the build
needs the org.gimp.GIMP runtime, which these machines cannot reach): it
parses, its id is the metainfo's, the model it downloads is exactly
data/squeezenet1.1.sha256, and the extension's plug-in folder has the
bundle's layout (plug-ins/neural-style-transfer/ holding the binary, locale/,
models/squeezenet1.1/ and styles/), where plugin_data_folder() finds it.
Usage: check-manifest.py SOURCE_ROOT"""
import json
import os
import re
import sys
import xml.etree.ElementTree as ET


def main(src):
    problems = []
    manifest = json.load(open(os.path.join(src, "flatpak", "org.gimp.GIMP.Plugin.NeuralStyle.json")))
    metainfo = ET.parse(os.path.join(src, "data", "org.gimp.GIMP.Plugin.NeuralStyle.metainfo.xml")).getroot()
    if manifest["id"] != metainfo.findtext("id"):
        problems.append(f"manifest id {manifest['id']} is not the metainfo's {metainfo.findtext('id')}")
    if manifest["runtime"] != "org.gimp.GIMP" or not manifest.get("build-extension"):
        problems.append("not built as an extension of org.gimp.GIMP")
    prefix = manifest["build-options"]["prefix"]
    if prefix != "/app/extensions/" + manifest["id"].rsplit(".", 1)[1]:
        problems.append(f"prefix {prefix} is not /app/extensions/<last part of the id>")
    ours = next(m for m in manifest["modules"] if isinstance(m, dict) and m["name"] == "gimp-neural-style")
    plugin_dir = f"{prefix}/plug-ins/neural-style-transfer"
    if f"-Dgimp_plugin_dir={plugin_dir}" not in ours["config-opts"]:
        problems.append(f"the plug-in is not installed to {plugin_dir}")
    expected = {}
    for line in open(os.path.join(src, "data", "squeezenet1.1.sha256")):
        sha, rel = line.split()
        expected[rel.lstrip("./")] = sha
    got = {}
    for s in ours["sources"]:
        if s["type"] == "file":
            rel = s["dest"].removeprefix("model/") + "/" + s["url"].rsplit("/", 1)[1]
            got[rel] = s["sha256"]
    if got != expected:
        problems.append(f"model sources differ from data/squeezenet1.1.sha256 ({len(got)} vs {len(expected)} files)")
    steps = "\n".join(ours["post-install"]).replace("${FLATPAK_DEST}", prefix)
    for needed in (f"{plugin_dir}/models/squeezenet1.1", f"{plugin_dir}/"):
        if needed not in steps:
            problems.append(f"post-install does not fill {needed}")
    # The bundle's script puts the same things in the same places.
    bundle = open(os.path.join(src, "packaging", "build-bundle.sh")).read()
    for layout in ('"$P/models/squeezenet1.1"', '"$P/styles"'):
        if layout not in bundle:
            problems.append(f"packaging/build-bundle.sh no longer makes {layout}: bundle and Flatpak differ")
    if not re.search(r"styles .*/plug-ins/neural-style-transfer/", steps):
        problems.append("the gallery is not copied into the plug-in folder")
    print("\n".join(problems + [f"flatpak manifest: {len(got)} model files, {len(problems)} problem(s)"]))
    return int(bool(problems))


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:2]))
