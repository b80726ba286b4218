#!/usr/bin/env python3
"""Writes the tiny seed files of fuzz/corpus/{npy,safetensors}/.

Plain Python (struct + json), no numpy needed; run from anywhere:
    python3 tools/make-fuzz-seeds.py
The output is deterministic, so rerunning it leaves the committed seeds unchanged.
"""
import json
import os
import struct

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "fuzz", "corpus")


def npy(major, descr, shape, payload):
    shape_text = "(" + "".join(f"{d}, " for d in shape).rstrip(" ") + ")" if len(shape) != 1 else f"({shape[0]},)"
    header = f"{{'descr': '{descr}', 'fortran_order': False, 'shape': {shape_text}, }}"
    prefix_len = 10 if major == 1 else 12
    total = (prefix_len + len(header) + 1 + 63) // 64 * 64
    header = header.ljust(total - prefix_len - 1) + "\n"
    length = struct.pack("<H" if major == 1 else "<I", len(header))
    return b"\x93NUMPY" + bytes([major, 0]) + length + header.encode("latin-1") + payload


def safetensors(tensors, metadata=None):
    """tensors: list of (name, dtype, shape, raw bytes), laid out in order."""
    header, data = {}, b""
    if metadata is not None:
        header["__metadata__"] = metadata
    for name, dtype, shape, raw in tensors:
        header[name] = {"dtype": dtype, "shape": shape, "data_offsets": [len(data), len(data) + len(raw)]}
        data += raw
    text = json.dumps(header, separators=(",", ":")).encode()
    return struct.pack("<Q", len(text)) + text + data


def write(folder, name, content):
    path = os.path.join(ROOT, folder, name)
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(content)


def main():
    f32 = struct.pack("<6f", 1.5, -2.25, 0.0, 3e-3, 1e20, -7.0)
    write("npy", "f4-2x3-v1.npy", npy(1, "<f4", (2, 3), f32))
    write("npy", "f8-scalar-v2.npy", npy(2, "<f8", (), struct.pack("<d", -0.1)))
    write("npy", "f2-3-v3.npy", npy(3, "<f2", (3,), struct.pack("<3H", 0x3C00, 0x0001, 0x7C00)))
    write("npy", "f4-empty.npy", npy(1, "<f4", (0, 4), b""))

    f16 = struct.pack("<4H", 0x3C00, 0xC000, 0x7BFF, 0x0001)
    bf16 = struct.pack("<4H", 0x3F80, 0xC060, 0x0001, 0x7F80)
    write("safetensors", "mixed.safetensors", safetensors([
        ("features.0.weight", "F32", [2, 3], f32),
        ("features.0.bias", "F16", [4], f16),
        ("b", "BF16", [2, 2], bf16),
        ("d", "F64", [], struct.pack("<d", -0.1)),
        ("steps", "I64", [1], struct.pack("<q", 7)),
        ("none", "F32", [0], b""),
    ], metadata={"format": "pt"}))
    write("safetensors", "empty.safetensors", safetensors([]))


if __name__ == "__main__":
    main()
