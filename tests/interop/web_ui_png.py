#!/usr/bin/python3
"""Smaller copies of the browser test's screenshots for docs/ui/ (they are
committed): each PNG is read, its colours reduced to a palette of at most
256 (the most used ones, every other pixel mapped to the nearest), and
written as an indexed PNG at zlib's best compression. Pure Python: Debian's
image tools are not among the project's dependencies.

    tests/interop/web_ui_png.py build/screenshots/login.png ... docs/ui/
"""

import os
import struct
import sys
import zlib
from collections import Counter

SIGNATURE = b"\x89PNG\r\n\x1a\n"


def chunks(data):
    if data[:8] != SIGNATURE:
        raise ValueError("not a PNG")
    pos = 8
    while pos + 8 <= len(data):
        length, kind = struct.unpack(">I4s", data[pos:pos + 8])
        yield kind, data[pos + 8:pos + 8 + length]
        pos += 12 + length


def paeth(a, b, c):
    p = a + b - c
    pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
    if pa <= pb and pa <= pc:
        return a
    return b if pb <= pc else c


def read_rgb(path):
    """(width, height, rows of bytes RGB) of an 8-bit RGB or RGBA PNG
    without interlacing (what Chromium writes); alpha is dropped, the
    screenshots are opaque."""
    with open(path, "rb") as f:
        data = f.read()
    idat = []
    for kind, body in chunks(data):
        if kind == b"IHDR":
            width, height, depth, ctype, _, _, interlace = struct.unpack(">IIBBBBB", body)
            if depth != 8 or ctype not in (2, 6) or interlace:
                raise ValueError("%s: only 8-bit RGB(A) without interlacing" % path)
        elif kind == b"IDAT":
            idat.append(body)
    bpp = 3 if ctype == 2 else 4
    raw = zlib.decompress(b"".join(idat))
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    pos = 0
    for _ in range(height):
        kind = raw[pos]
        line = bytearray(raw[pos + 1:pos + 1 + stride])
        pos += 1 + stride
        if kind == 1:
            for i in range(bpp, stride):
                line[i] = (line[i] + line[i - bpp]) & 0xFF
        elif kind == 2:
            for i in range(stride):
                line[i] = (line[i] + prev[i]) & 0xFF
        elif kind == 3:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + ((left + prev[i]) >> 1)) & 0xFF
        elif kind == 4:
            for i in range(stride):
                left = line[i - bpp] if i >= bpp else 0
                upleft = prev[i - bpp] if i >= bpp else 0
                line[i] = (line[i] + paeth(left, prev[i], upleft)) & 0xFF
        elif kind != 0:
            raise ValueError("%s: unknown filter %d" % (path, kind))
        prev = line
        if bpp == 4:
            del line[3::4]
        rows.append(bytes(line))
    return width, height, rows


def palette_of(rows):
    """The 256 most used colours, then for every colour its index (the
    nearest palette colour)."""
    counts = Counter()
    for row in rows:
        counts.update(row[i:i + 3] for i in range(0, len(row), 3))
    palette = [c for c, _ in counts.most_common(256)]
    index = {c: i for i, c in enumerate(palette)}
    for c in counts:
        if c not in index:
            index[c] = min(range(len(palette)), key=lambda i: sum(
                (a - b) * (a - b) for a, b in zip(c, palette[i])))
    return palette, index


def chunk(kind, body):
    return (struct.pack(">I", len(body)) + kind + body
            + struct.pack(">I", zlib.crc32(kind + body) & 0xFFFFFFFF))


def write_indexed(path, width, height, rows):
    palette, index = palette_of(rows)
    raw = bytearray()
    for row in rows:
        raw.append(0)
        raw.extend(index[row[i:i + 3]] for i in range(0, len(row), 3))
    with open(path, "wb") as f:
        f.write(SIGNATURE)
        f.write(chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 3, 0, 0, 0)))
        f.write(chunk(b"PLTE", b"".join(palette)))
        f.write(chunk(b"IDAT", zlib.compress(bytes(raw), 9)))
        f.write(chunk(b"IEND", b""))


def main(argv):
    if len(argv) < 3 or not os.path.isdir(argv[-1]):
        print(__doc__.strip().splitlines()[-1].strip(), file=sys.stderr)
        return 2
    for src in argv[1:-1]:
        dst = os.path.join(argv[-1], os.path.basename(src))
        write_indexed(dst, *read_rgb(src))
        print("%s: %d -> %d bytes" % (dst, os.path.getsize(src), os.path.getsize(dst)))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
