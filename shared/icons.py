"""Small favicons drawn in code: an ICO file holding one PNG, so that nothing is fetched and no binary file
is kept (the statistics dashboard's and the workbench's, `bar_chart`, and the public form's)."""
from __future__ import annotations

import struct
import zlib
from functools import lru_cache


def ico(size: int, pixel) -> bytes:
    """An ICO of `size` x `size` whose colour at (x, y) is `pixel(x, y)`, an RGBA tuple."""
    raw = b"".join(b"\0" + b"".join(bytes(pixel(x, y)) for x in range(size)) for y in range(size))

    def chunk(kind, data):
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    png = (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", size, size, 8, 6, 0, 0, 0))
           + chunk(b"IDAT", zlib.compress(raw, 9)) + chunk(b"IEND", b""))
    header = struct.pack("<HHH", 0, 1, 1) + struct.pack("<BBBBHHII", size, size, 0, 0, 1, 32, len(png), 6 + 16)
    return header + png


@lru_cache(maxsize=None)
def bar_chart() -> bytes:
    """The staff pages' /favicon.ico (the statistics dashboard, the workbench): 32x32 in the dashboard's
    blue with a white bar chart. One definition, served by each service that serves those pages."""
    size, blue, white = 32, (1, 104, 155, 255), (255, 255, 255, 255)
    bars = [(6, 20), (13, 12), (20, 16)]  # (x, top) of three bars, 5 pixels wide, down to y=26

    def pixel(x, y):
        return white if any(bx <= x < bx + 5 and top <= y < 27 for bx, top in bars) else blue

    return ico(size, pixel)
