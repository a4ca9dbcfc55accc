#!/usr/bin/env python3
"""Prints a generated GitHub classic personal access token (ghp_ + 30 characters + a valid
CRC-32 base62 checksum) from a seeded generator: well-formed, never a real credential.
Usage: fake-token.py [SEED]"""
import random
import sys
import zlib

ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
rng = random.Random(int(sys.argv[1]) if len(sys.argv) > 1 else 7)
body = "".join(rng.choice(ALPHABET) for _ in range(30))
n = zlib.crc32(body.encode())
check = ""
while n:
    check = ALPHABET[n % 62] + check
    n //= 62
print("ghp_" + body + check.rjust(6, "0"))
