#!/usr/bin/env python3
"""Fill example markers in rule files with seeded, format-correct fake tokens.

Rule authors write examples with markers instead of typing token-shaped strings by hand:

    examples = ['token = "@@crc:ghp_@@"']

and run `tools/fill-examples.py rules/*.toml`, which rewrites each file in place, replacing every
marker with a generated value. The generator is seeded from the file name and the marker's
position, so a run is reproducible; filled files hold no markers, so running it again changes
nothing. No generated value is a real credential: bodies are random, and only the public
checksum of a format (CRC32/base62, JWT structure, PyPI macaroon header) is made valid.

Markers:
  @@an:N@@        N chars of [A-Za-z0-9]          @@lower:N@@   [a-z0-9]
  @@upper:N@@     [A-Z0-9]                        @@alpha:N@@   [A-Za-z]
  @@hex:N@@       lowercase hex                   @@HEX:N@@     uppercase hex
  @@digits:N@@    [0-9]                           @@b64:N@@     [A-Za-z0-9+/]
  @@b64url:N@@    [A-Za-z0-9_-]                   @@set:CHARS:N@@  N chars of CHARS
  @@crc:PREFIX@@  PREFIX + 30 alnum + 6-char base62 CRC32 (GitHub/npm style)
  @@crcbad:PREFIX@@  the same with a wrong checksum
  @@jwt@@         a structurally valid JWT (HS256 header, JSON payload, random signature)
  @@pypi@@        a PyPI token: pypi- + base64url macaroon with the pypi.org header
  @@uuid@@        a random v4 UUID
  @@b64of:TEXT@@  standard base64 of TEXT (use ~ for a space)
  @@pem:LABEL@@   a PEM block "-----BEGIN LABEL-----" with 12 lines of random base64
"""
import base64
import hashlib
import json
import random
import re
import sys
import zlib

ALNUM = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
SETS = {
    "an": ALNUM,
    "lower": "0123456789abcdefghijklmnopqrstuvwxyz",
    "upper": "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
    "alpha": "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
    "hex": "0123456789abcdef",
    "HEX": "0123456789ABCDEF",
    "digits": "0123456789",
    "b64": ALNUM + "+/",
    "b64url": ALNUM + "_-",
}
# Substrings that the scanner treats as placeholders; generated values avoid them.
AVOID = ["example", "xxxx", "12345678", "abcdefgh", "01234567", "fake", "dummy", "sample", "test",
         "insert", "your", "redacted", "changeme", "placeholder", "notreal", "secret", "token"]
MARKER = re.compile(r"@@([A-Za-z0-9]+)(?::([^@]*))?@@")


def base62(n, width):
    out = ""
    while n:
        out = ALNUM[n % 62] + out
        n //= 62
    return out.rjust(width, "0")


def clean(s):
    low = s.lower()
    return not any(a in low for a in AVOID)


def rand(rng, chars, n):
    while True:
        s = "".join(rng.choice(chars) for _ in range(n))
        if clean(s) and len(set(s)) > min(n - 1, 3):
            return s


def b64u(data):
    return base64.urlsafe_b64encode(data).decode().rstrip("=")


def expand(rng, kind, arg):
    if kind in SETS:
        return rand(rng, SETS[kind], int(arg))
    if kind == "set":
        chars, n = arg.rsplit(":", 1)
        return rand(rng, chars, int(n))
    if kind in ("crc", "crcbad"):
        body = rand(rng, ALNUM, 30)
        check = base62(zlib.crc32(body.encode()) & 0xFFFFFFFF, 6)
        if kind == "crcbad":
            check = check[:-1] + ("A" if check[-1] != "A" else "B")
        return arg + body + check
    if kind == "jwt":
        header = b64u(json.dumps({"alg": "HS256", "typ": "JWT"}, separators=(",", ":")).encode())
        payload = {"sub": rand(rng, SETS["digits"], 10), "iat": 1700000000 + rng.randrange(10**7)}
        return header + "." + b64u(json.dumps(payload, separators=(",", ":")).encode()) + "." + rand(rng, SETS["b64url"], 43)
    if kind == "pypi":
        body = b"\x02\x01\x08pypi.org\x02" + bytes(rng.randrange(256) for _ in range(120))
        return "pypi-" + b64u(body)
    if kind == "uuid":
        h = "".join(rng.choice("0123456789abcdef") for _ in range(32))
        return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-a{h[17:20]}-{h[20:]}"
    if kind == "b64of":
        return base64.b64encode(arg.replace("~", " ").encode()).decode()
    if kind == "pem":
        raw = bytes(rng.randrange(256) for _ in range(12 * 48))
        body = base64.b64encode(raw).decode()
        lines = [body[i:i + 64] for i in range(0, len(body), 64)]
        return f"-----BEGIN {arg}-----\n" + "\n".join(lines) + f"\n-----END {arg}-----"
    raise SystemExit(f"unknown marker kind {kind!r}")


def fill(path):
    text = open(path, encoding="utf-8").read()
    count = [0]

    def sub(m):
        count[0] += 1
        seed = hashlib.sha256(f"{path.rsplit('/', 1)[-1]}#{count[0]}#{m.group(0)}".encode()).digest()
        return expand(random.Random(seed), m.group(1), m.group(2) or "")

    new = MARKER.sub(sub, text)
    if new != text:
        open(path, "w", encoding="utf-8").write(new)
        print(f"{path}: {count[0]} markers filled")


if __name__ == "__main__":
    for p in sys.argv[1:]:
        fill(p)
