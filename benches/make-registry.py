#!/usr/bin/env python3
"""Writes a registry of N random fake tokens for benchmarks (benches/compare.sh REGISTRY=...).

    benches/make-registry.py OUT N [realistic|adversarial]

realistic: lengths and alphabets of common API tokens (a handful of (alphabet, length) pairs);
adversarial: every length from 20 to 64 in four alphabets, the worst case for the matcher.
"""
import base64, hashlib, hmac, random, sys

out, n, kind = sys.argv[1], int(sys.argv[2]), (sys.argv[3] if len(sys.argv) > 3 else "realistic")
rng = random.Random(2026)
key = bytes(rng.randrange(256) for _ in range(32))
AN = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
ALPHA = {"alnum": AN, "base64url": AN + "-_", "hex": "0123456789abcdef", "base64": AN + "+/"}
REAL = [("alnum", 40), ("alnum", 36), ("hex", 32), ("hex", 40), ("base64url", 43), ("alnum", 24), ("base64", 40), ("alnum", 64)]
lines = ["version = 1", f'key = "{base64.b64encode(key).decode()}"', ""]
for i in range(n):
    if kind == "adversarial":
        alpha, length = list(ALPHA)[i % 4], 20 + i % 45
    else:
        alpha, length = REAL[i % len(REAL)]
    token = "".join(rng.choice(ALPHA[alpha]) for _ in range(length))
    fp = hmac.new(key, token.encode(), hashlib.sha256).hexdigest()
    lines += ["[[token]]", f'id = "bench-{i}"', f'fingerprint = "hmac-sha256:{fp}"', f"length = {length}",
              f'alphabet = "{alpha}"', f'nda = "NDA-{i}"', 'counterparty = "Bench Ltd"', 'owner = "bench@corp.test"',
              'report_within = "24h"', 'revoke_within = "4h"', ""]
open(out, "w").write("\n".join(lines))
