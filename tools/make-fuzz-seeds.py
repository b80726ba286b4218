#!/usr/bin/env python3
"""Writes the tiny seed files of fuzz/corpus/{npy,safetensors,image}/.

Plain Python (struct + json + zlib) for the weight files; the pictures need
PIL (Debian's python3-pil); run from anywhere:
    /usr/bin/python3 tools/make-fuzz-seeds.py
The output is deterministic, so rerunning it leaves the committed seeds
unchanged (fuzz/run-fuzzers.sh --update-corpus adds the fuzzers' own finds
beside them).
"""
import io
import json
import os
import struct
import zlib

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


def png_chunk(kind, data):
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def png_adam7(width, height, rgb):
    """An interlaced 8-bit RGB PNG (PIL cannot write one): each Adam7 pass is
    a small picture of its own, rows with filter byte 0. rgb(x, y) -> 3 bytes."""
    passes = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
    raw = b""
    for x0, y0, dx, dy in passes:
        for y in range(y0, height, dy):
            row = b"".join(rgb(x, y) for x in range(x0, width, dx))
            raw += b"\0" + row if row else b""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 1)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(raw, 9)) +
            png_chunk(b"IEND", b""))


def png_declaring(width, height):
    """A valid PNG header that declares a huge picture, with one empty IDAT."""
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + png_chunk(b"IHDR", header) + png_chunk(b"IDAT", zlib.compress(b"")) +
            png_chunk(b"IEND", b""))


def pictures():
    """Tiny PNGs of every colour type and JPEGs (baseline, progressive, grey, CMYK, 4:2:0)."""
    from PIL import Image  # only the picture seeds need it

    def encoded(image, fmt, **options):
        out = io.BytesIO()
        image.save(out, fmt, **options)
        return out.getvalue()

    rgb = Image.new("RGB", (5, 3))
    rgb.putdata([(x * 50, y * 120, (x + y) * 30) for y in range(3) for x in range(5)])
    yield "rgb8.png", encoded(rgb, "PNG")
    yield "rgba8.png", encoded(rgb.convert("RGBA"), "PNG")
    yield "grey8.png", encoded(rgb.convert("L"), "PNG")
    yield "grey1.png", encoded(rgb.convert("1"), "PNG")
    yield "grey16.png", encoded(rgb.convert("L").convert("I;16"), "PNG")
    palette = rgb.convert("P", palette=Image.ADAPTIVE, colors=4)
    yield "palette-trns.png", encoded(palette, "PNG", transparency=1)
    yield "rgb8-adam7.png", png_adam7(5, 3, lambda x, y: bytes((x * 50, y * 120, (x + y) * 30)))
    yield "declares-16000x16000.png", png_declaring(16000, 16000)  # within 2^28 px: the bound refuses it
    big = rgb.resize((16, 16), Image.NEAREST)
    yield "baseline.jpg", encoded(big, "JPEG", quality=90, subsampling=0)
    yield "progressive-420.jpg", encoded(big, "JPEG", quality=75, subsampling=2, progressive=True)
    yield "grey.jpg", encoded(big.convert("L"), "JPEG", quality=90)
    yield "cmyk.jpg", encoded(big.convert("CMYK"), "JPEG", quality=90)


def main():
    # Finite values only: the readers refuse NaN and infinities (that path is one mutation away).
    f32 = struct.pack("<6f", 1.5, -2.25, 0.0, 3e-3, 1e20, -7.0)
    write("npy", "f4-2x3-v1.npy", npy(1, "<f4", (2, 3), f32))
    write("npy", "f8-scalar-v2.npy", npy(2, "<f8", (), struct.pack("<d", -0.1)))
    write("npy", "f2-3-v3.npy", npy(3, "<f2", (3,), struct.pack("<3H", 0x3C00, 0x0001, 0xFBFF)))
    write("npy", "f4-empty.npy", npy(1, "<f4", (0, 4), b""))

    f16 = struct.pack("<4H", 0x3C00, 0xC000, 0x7BFF, 0x0001)
    bf16 = struct.pack("<4H", 0x3F80, 0xC060, 0x0001, 0x7F7F)
    write("safetensors", "mixed.safetensors", safetensors([
        ("features.0.weight", "F32", [2, 3], f32),
        ("features.0.bias", "F16", [4], f16),
        ("b", "BF16", [2, 2], bf16),
        ("d", "F64", [], struct.pack("<d", -0.1)),
        ("steps", "I64", [1], struct.pack("<q", 7)),
        ("none", "F32", [0], b""),
    ], metadata={"format": "pt"}))
    write("safetensors", "empty.safetensors", safetensors([]))

    for name, content in pictures():
        write("image", name, content)


if __name__ == "__main__":
    main()
