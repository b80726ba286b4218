#!/usr/bin/python3
"""Seam check for a tiled result: the mean gradient magnitude across the tile
borders of every round, against the same measure beside them (2..8 px away)
and against the whole interior.  Exit 1 when either is off by more than 10 %.

    seam_check.py RESULT.png WINDOW MARGIN ROUNDS [--crop CROP.png]

WINDOW and MARGIN are what `nst` prints ("tiled in WxW windows, overlap M px");
ROUNDS = ceil(final stage iterations / 4).  The grid must match
nst_tiles_axis() in nst-core/transfer/tiles.c.  --crop writes a 100 % crop
across the first vertical border of the last round for a look.
"""
import math
import sys

import numpy as np
from PIL import Image


def tiles_axis(size, window, margin, rnd, axis):
    """Core starts of one round along one axis (nst_tiles_axis)."""
    if window >= size:
        return [0]
    core = max(window - 2 * margin, 1)
    phase = math.fmod((rnd + 1) * 0.6180339887 + axis * 0.5, 1.0)
    offset = int(phase * core)
    starts, start, end = [], 0, offset if offset > 0 else core
    while start < size:
        starts.append(start)
        start, end = min(end, size), min(end, size) + core
    return starts


def main():
    args = sys.argv[1:]
    crop = None
    if '--crop' in args:
        i = args.index('--crop')
        crop = args[i + 1]
        del args[i:i + 2]
    path, window, margin, rounds = args[0], int(args[1]), int(args[2]), int(args[3])
    im = np.asarray(Image.open(path).convert('RGB'), dtype=np.float32) / 255.0
    h, w, _ = im.shape
    # |difference| between a column (row) and the one before it, averaged.
    dx = np.abs(np.diff(im, axis=1)).mean(axis=(0, 2))  # dx[q-1]: between q-1 and q
    dy = np.abs(np.diff(im, axis=0)).mean(axis=(1, 2))
    border, beside, interior = [], [], [dx.mean(), dy.mean()]
    for axis, d, size in ((0, dx, w), (1, dy, h)):
        for r in range(rounds):
            for b in tiles_axis(size, window, margin, r, axis)[1:]:
                border.append(d[b - 1])
                beside.extend(d[q - 1] for q in range(b - 8, b + 9) if 1 <= q < size and abs(q - b) >= 2)
    ratio_beside = float(np.mean(border) / np.mean(beside))
    ratio_interior = float(np.mean(border) / np.mean(interior))
    print(f'{path}: {w}x{h}, {len(border)} borders; border/beside = {ratio_beside:.3f}, '
          f'border/interior = {ratio_interior:.3f}')
    if crop:
        b = tiles_axis(w, window, margin, rounds - 1, 0)[1]
        y = h // 2
        Image.fromarray((im[y - 200:y + 200, max(b - 300, 0):b + 300] * 255).astype(np.uint8)).save(crop)
        print(f'crop across the vertical border at x = {b}: {crop}')
    ok = abs(ratio_beside - 1) <= 0.10 and abs(ratio_interior - 1) <= 0.10
    print('PASS' if ok else 'FAIL')
    return 0 if ok else 1


if __name__ == '__main__':
    sys.exit(main())
