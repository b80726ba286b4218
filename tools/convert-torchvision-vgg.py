#!/usr/bin/env python3
"""Converts torchvision's VGG19/VGG16 ImageNet weights to the safetensors file
gimp-neural-style reads, keeping only the `features.*` tensors, as F32.

    python3 tools/convert-torchvision-vgg.py vgg19-dcbedf0e.pth vgg19.safetensors
    python3 tools/convert-torchvision-vgg.py --check vgg19.safetensors vgg19

Converting needs PyTorch (torch.load with weights_only=True: a file that
holds anything but tensors is refused, never run); --check needs only Python.  The file
is written by hand (json + struct): there is no safetensors package to rely
on.  Its tensors are in network order, each 8-byte aligned, and the header
records the sha256 of the source .pth under __metadata__.
"""
import hashlib
import json
import os
import struct
import sys

# Output channels of each conv, in order; "M" is a max pool (one index in `features`, no tensors).
CONFIGS = {
    "vgg16": [64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512, "M", 512, 512, 512, "M"],
    "vgg19": [64, 64, "M", 128, 128, "M", 256, 256, 256, 256, "M", 512, 512, 512, 512, "M", 512, 512, 512, 512, "M"],
}


def expected_shapes(model):
    """{name: shape} of the features tensors: each conv is followed by a ReLU in `features`."""
    shapes, index, in_channels = {}, 0, 3
    for item in CONFIGS[model]:
        if item == "M":
            index += 1
            continue
        shapes[f"features.{index}.weight"] = [item, in_channels, 3, 3]
        shapes[f"features.{index}.bias"] = [item]
        in_channels = item
        index += 2
    return shapes


def sha256_of(path):
    digest = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def guess_model(names):
    for model in CONFIGS:
        if set(expected_shapes(model)) == names:
            return model
    raise SystemExit("the features tensors match neither VGG16 nor VGG19: %s" % sorted(names)[:6])


def write_safetensors(path, tensors, metadata):
    """tensors: list of (name, shape, little-endian float32 bytes)."""
    header, offset = {"__metadata__": metadata}, 0
    for name, shape, raw in tensors:
        header[name] = {"dtype": "F32", "shape": shape, "data_offsets": [offset, offset + len(raw)]}
        offset += len(raw)
    text = json.dumps(header, separators=(",", ":")).encode()
    text += b" " * (-len(text) % 8)  # keeps the data 8-byte aligned, as the format recommends
    with open(path + ".part", "wb") as f:
        f.write(struct.pack("<Q", len(text)))
        f.write(text)
        for _, _, raw in tensors:
            f.write(raw)
    os.replace(path + ".part", path)


def convert(source, target):
    import pickle

    import torch  # only converting needs it

    # weights_only: a .pth is a pickle, and a plain torch.load runs whatever
    # code a hostile file names; this loads tensors and containers only.
    try:
        state = torch.load(source, map_location="cpu", weights_only=True)
    except (pickle.UnpicklingError, RuntimeError) as e:
        raise SystemExit(f"{source}: refused: not a plain state dict of tensors "
                         f"(it may hold code, which is never run): {str(e).splitlines()[0]}")
    if isinstance(state, dict) and "state_dict" in state:
        state = state["state_dict"]
    features = {k: v for k, v in state.items() if k.startswith("features.")}
    model = guess_model(set(features))
    shapes = expected_shapes(model)
    tensors = []
    for name in sorted(shapes, key=lambda n: (int(n.split(".")[1]), n.endswith("bias"))):
        value = features[name].detach().to(torch.float32).contiguous()
        if list(value.shape) != shapes[name]:
            raise SystemExit(f"{source}: {name} has shape {list(value.shape)}, expected {shapes[name]}")
        if not torch.isfinite(value).all():
            raise SystemExit(f"{source}: {name} holds NaN or infinite values")
        raw = value.numpy().astype("<f4").tobytes()
        tensors.append((name, shapes[name], raw))
    write_safetensors(target, tensors, {
        "format": "pt",
        "model": model,
        "source": os.path.basename(source),
        "source_sha256": sha256_of(source),
    })
    print(f"wrote {target}: {model}, {len(tensors)} tensors; sha256 {sha256_of(target)}")


def check(path, model):
    """Checks the header of a safetensors file: every features tensor of `model`, readable, with its shape."""
    size = os.path.getsize(path)
    with open(path, "rb") as f:
        prefix = f.read(8)
        if len(prefix) < 8:
            print(f"{path}: too short for a safetensors file")
            return False
        (length,) = struct.unpack("<Q", prefix)
        if length > min(size - 8, 100 << 20):
            print(f"{path}: header length {length} does not fit the file")
            return False
        try:
            header = json.loads(f.read(length))
        except ValueError as e:
            print(f"{path}: malformed header: {e}")
            return False
    itemsize = {"F32": 4, "F16": 2, "BF16": 2, "F64": 8}
    data_size, good = size - 8 - length, True
    for name, shape in expected_shapes(model).items():
        entry = header.get(name)
        if not isinstance(entry, dict):
            print(f"{path}: tensor {name} is missing")
            good = False
            continue
        begin, end = entry.get("data_offsets", [0, -1])
        count = 1
        for d in entry.get("shape", []):
            count *= d
        if entry.get("shape") != shape:
            print(f"{path}: tensor {name} has shape {entry.get('shape')}, expected {shape}")
            good = False
        elif entry.get("dtype") not in itemsize:
            print(f"{path}: tensor {name} has dtype {entry.get('dtype')}, not one of {sorted(itemsize)}")
            good = False
        elif not 0 <= begin <= end <= data_size or end - begin != count * itemsize[entry["dtype"]]:
            print(f"{path}: tensor {name} has bad data_offsets {entry.get('data_offsets')}")
            good = False
    return good


def main(argv):
    if len(argv) == 4 and argv[1] == "--check" and argv[3] in CONFIGS:
        return 0 if check(argv[2], argv[3]) else 1
    if len(argv) == 3 and not argv[1].startswith("-"):
        convert(argv[1], argv[2])
        return 0
    print(__doc__.strip(), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
