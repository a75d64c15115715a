"""Checks that scripts/check-report's screenshot is not blank.

  python3 check_report_png.py PNG

Reads the PNG's IDAT chunks, decompresses them, samples about 200,000 bytes of the image
data and prints "screenshot WxH, N distinct byte values in a sample" on stdout. Exit status
0 when more than 16 distinct values were seen, 1 otherwise (a blank page has very few); an
AssertionError (exit 1) when the file is not a PNG.
"""
import struct, sys, zlib
data = open(sys.argv[1], "rb").read()
assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
w, h = struct.unpack(">II", data[16:24])
# Count distinct byte values in the decompressed image: a blank page has very few.
pos, idat = 8, b""
while pos < len(data):
    n = struct.unpack(">I", data[pos:pos + 4])[0]
    kind = data[pos + 4:pos + 8]
    if kind == b"IDAT":
        idat += data[pos + 8:pos + 8 + n]
    pos += 12 + n
raw = zlib.decompress(idat)
distinct = len(set(raw[:: max(1, len(raw) // 200000)]))
print(f"screenshot {w}x{h}, {distinct} distinct byte values in a sample")
sys.exit(0 if distinct > 16 else 1)
