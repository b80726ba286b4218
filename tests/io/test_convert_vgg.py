#!/usr/bin/python3
"""tools/convert-torchvision-vgg.py on a random VGG16 state dict saved with
torch.save (converted, then checked tensor by tensor), and on a pickle whose
__reduce__ would run code: refused, and the code never runs.

    /usr/bin/python3 tests/io/test_convert_vgg.py SOURCE_ROOT
"""
import json
import os
import struct
import subprocess
import sys
import tempfile

failures = 0


def check(ok, message):
    global failures
    if not ok:
        failures += 1
        print("FAIL", message)


class Payload:
    """Unpickling this would create the file `marker`."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


def convert_in_process(convert, source, target):
    """convert.convert(), which reports failure by SystemExit; (ok, message). In process: torch loads once."""
    try:
        convert.convert(source, target)
        return True, ""
    except SystemExit as e:
        return False, str(e)


def main():
    root = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "..")
    converter = os.path.join(root, "tools", "convert-torchvision-vgg.py")
    try:
        import torch
    except ImportError:
        print("FAIL: this test needs PyTorch (Debian's python3-torch, run by /usr/bin/python3)")
        return 1
    import importlib.util
    spec = importlib.util.spec_from_file_location("convert", converter)
    convert = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(convert)

    with tempfile.TemporaryDirectory() as tmp:
        generator = torch.Generator().manual_seed(0)
        shapes = convert.expected_shapes("vgg16")
        state = {name: torch.randn(shape, generator=generator) * 0.01 for name, shape in shapes.items()}
        state["classifier.0.weight"] = torch.zeros(2, 2)  # dropped by the converter
        pth, out = os.path.join(tmp, "vgg16.pth"), os.path.join(tmp, "vgg16.safetensors")
        torch.save(state, pth)
        ok, message = convert_in_process(convert, pth, out)
        check(ok, f"converting a torch.save'd VGG16 failed: {message}")
        if ok:
            check(subprocess.run([sys.executable, converter, "--check", out, "vgg16"], timeout=60).returncode == 0,
                  "--check refused the converted file")
            with open(out, "rb") as f:
                (length,) = struct.unpack("<Q", f.read(8))
                header = json.loads(f.read(length))
                data = f.read()
            check(set(header) - {"__metadata__"} == set(shapes), "converted tensors differ from VGG16's features")
            name = "features.28.weight"
            begin, end = header[name]["data_offsets"]
            values = struct.unpack(f"<{(end - begin) // 4}f", data[begin:end])
            check(list(values[:5]) == state[name].flatten()[:5].tolist(), f"{name} changed in conversion")

        marker = os.path.join(tmp, "code-ran")
        evil = os.path.join(tmp, "evil.pth")
        torch.save({"features.0.weight": torch.zeros(1), "x": Payload(marker)}, evil)
        ok, message = convert_in_process(convert, evil, os.path.join(tmp, "evil.safetensors"))
        check(not ok, "a pickle with code was converted")
        check(not os.path.exists(marker), "the pickle's code ran")
        check("refused" in message and evil in message, f"unclear message: {message!r}")
        check(not os.path.exists(os.path.join(tmp, "evil.safetensors")), "a file was written for the pickle")
    print(f"test_convert_vgg: {'ok' if failures == 0 else f'{failures} failed'}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
