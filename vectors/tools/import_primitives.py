#!/usr/bin/env python3
"""Builds vectors/primitives/*.json, the inputs of the conformance crate's primitives suite.

Usage (from the repository root, with ../shared beside it):

    python3 vectors/tools/import_primitives.py [--shared ../shared] [--out vectors/primitives] [--suffix=-new]

Python 3.11 standard library only. Two kinds of files come out:

* Imports, converted without changing any value: the MODP groups
  (shared/references/modp-groups.json, RFC 2409/3526), NIST SP 800-38A F.5 AES-CTR
  (shared/references/sp800-38a-ctr.json) and the Wycheproof RSA/DSA/ECDSA/HMAC files
  (shared/references/wycheproof/, Apache-2.0; LICENSE copied as WYCHEPROOF-LICENSE).
* Derivations, whose expected values this script computes itself, independently of the
  Rust code under test: sas28x5 (base 28 by repeated division), MPI edge cases (by the
  rule of XEP-0116 §6.1 / DECISIONS D1), and Diffie-Hellman agreements (Python's own
  big-integer pow()). Each derived vector carries a `derivation` text saying how its
  expected value was obtained.

Every output file has the shape of STYLE.md §6:
`{"source": ..., "kind": ..., "vectors": [...]}`; `kind` tells the runner
(conformance/src/suites/primitives.rs) which checks apply. See vectors/primitives/README.md.

STYLE.md §6 says generator output goes to `*-new.json` (ignored by the build script and by
git); pass `--suffix=-new` to compare a fresh run with the committed files before copying.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import shutil
from pathlib import Path

GENERATOR = "vectors/tools/import_primitives.py"
WYCHEPROOF_COMMIT = "dac1dd4729fd1f8dd9e1e9f3dce51d783da6c166"
WYCHEPROOF_LICENSE = (
    "Project Wycheproof test vectors, Copyright Google LLC and the C2SP/wycheproof "
    "contributors, licensed under the Apache License, Version 2.0 "
    "(http://www.apache.org/licenses/LICENSE-2.0); full text in "
    "vectors/primitives/WYCHEPROOF-LICENSE. Converted to this file's layout "
    "(hex fields renamed/grouped, no value changed) by " + GENERATOR + "."
)


def write(out: Path, name: str, suffix: str, doc: dict) -> None:
    path = out / f"{name}{suffix}.json"
    path.write_text(json.dumps(doc, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
    print(f"{path}: {len(doc['vectors'])} vectors")


def mpi(v: int) -> bytes:
    """mpi(v) of XEP-0116 §6.1 / DECISIONS D1: minimal unsigned big-endian, mpi(0) = 00."""
    if v == 0:
        return b"\x00"
    return v.to_bytes((v.bit_length() + 7) // 8, "big")


# ---------------------------------------------------------------------------
# MODP groups
# ---------------------------------------------------------------------------


def modp(shared: Path) -> dict:
    ref = json.loads((shared / "references/modp-groups.json").read_text())
    vectors = []
    for g in ref["groups"]:
        n = g["group"]
        p = int(g["p_hex"], 16)
        assert p.bit_length() == g["bits"], n
        vectors.append(
            {
                "name": f"group {n} prime",
                "op": "group",
                "modp_group": n,
                "p": g["p_hex"].lower(),
                "bits": g["bits"],
                "generator": g["generator"],
                "derivation": f"{g['source']}: {g['formula']}",
            }
        )
    # Public values: 1 < e < p-1 is required (XEP-0116 §4.6.1, §4.7.1; DECISIONS D7).
    for g in ref["groups"]:
        n = g["group"]
        p = int(g["p_hex"], 16)
        width = g["bits"] // 8
        for label, e in [("2", 2), ("p-2", p - 2)]:
            vectors.append(
                {
                    "name": f"group {n} e = {label} accepted",
                    "op": "public_value",
                    "modp_group": n,
                    "e": mpi(e).hex(),
                }
            )
        for label, e in [("0", 0), ("1", 1), ("p-1", p - 1), ("p", p), ("p+1", p + 1)]:
            vectors.append(
                {
                    "name": f"group {n} e = {label}",
                    "op": "public_value",
                    "modp_group": n,
                    "e": mpi(e).hex(),
                    "fail": True,
                    "expected_error": "InvalidPublicValue",
                }
            )
        # The same value padded to the width of p must be judged the same way.
        vectors.append(
            {
                "name": f"group {n} e = 1 padded to {width} bytes",
                "op": "public_value",
                "modp_group": n,
                "e": (1).to_bytes(width, "big").hex(),
                "fail": True,
                "expected_error": "InvalidPublicValue",
            }
        )
    for n in (3, 4):
        vectors.append(
            {
                "name": f"group {n} refused",
                "op": "group",
                "modp_group": n,
                "fail": True,
                "expected_error": "EllipticCurveGroup",
                "derivation": "RFC 2409 §6.3/§6.4: groups 3 and 4 are elliptic-curve groups over "
                "GF(2^155)/GF(2^185), not MODP groups (DECISIONS D5)",
            }
        )
    for n in (0, 6, 13, 19):
        vectors.append(
            {
                "name": f"group {n} unknown",
                "op": "group",
                "modp_group": n,
                "fail": True,
                "expected_error": "UnknownGroup",
            }
        )
    return {
        "source": "RFC 2409 §6.1-6.2 and RFC 3526 §2-7 (MODP groups, g = 2), via "
        "shared/references/modp-groups.json; public-value range of XEP-0116 §4.6.1/§4.7.1 "
        "(DECISIONS D5, D7)",
        "generator": GENERATOR,
        "kind": "modp",
        "vectors": vectors,
    }


# ---------------------------------------------------------------------------
# AES-CTR (SP 800-38A F.5)
# ---------------------------------------------------------------------------

AES_NAMES = {16: "aes128-ctr", 24: "aes192-ctr", 32: "aes256-ctr"}
DECRYPT_SECTION = {"F.5.1": "F.5.2", "F.5.3": "F.5.4", "F.5.5": "F.5.6"}


def ctr(shared: Path) -> dict:
    ref = json.loads((shared / "references/sp800-38a-ctr.json").read_text())
    vectors = []
    for v in ref["vectors"]:
        key = bytes.fromhex(v["key"])
        base = {
            "cipher": AES_NAMES[len(key)],
            "key": v["key"].lower(),
            "counter": v["initial_counter"].lower(),
        }
        vectors.append(
            {
                "name": v["name"],
                **base,
                "direction": "encrypt",
                "plaintext": v["plaintext"].lower(),
                "ciphertext": v["ciphertext"].lower(),
            }
        )
        section = v["name"].split(" ")[0]
        if section in DECRYPT_SECTION:
            # SP 800-38A F.5.2/F.5.4/F.5.6 (CTR-AESxxx.Decrypt) use the same key,
            # initial counter and blocks as F.5.1/F.5.3/F.5.5, input and output swapped.
            bits = len(key) * 8
            vectors.append(
                {
                    "name": f"{DECRYPT_SECTION[section]} CTR-AES{bits}.Decrypt",
                    **base,
                    "direction": "decrypt",
                    "plaintext": v["plaintext"].lower(),
                    "ciphertext": v["ciphertext"].lower(),
                }
            )
    return {
        "source": "NIST SP 800-38A Appendix F.5 (CTR-AES128/192/256 Encrypt F.5.1/3/5 and "
        "Decrypt F.5.2/4/6) plus the counter wrap modulo 2^128 of XEP-0200 (DECISIONS D13), "
        "via shared/references/sp800-38a-ctr.json",
        "generator": GENERATOR,
        "kind": "ctr",
        "vectors": vectors,
    }


# ---------------------------------------------------------------------------
# Wycheproof
# ---------------------------------------------------------------------------

SIGNATURE_FILES = [
    ("rsa_signature_2048_sha256_test.json", "wycheproof-rsa2048-pkcs1-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha256"),
    ("rsa_signature_3072_sha256_test.json", "wycheproof-rsa3072-pkcs1-sha256", "http://www.w3.org/2000/09/xmldsig#rsa-sha256"),
    ("dsa_2048_224_sha256_p1363_test.json", "wycheproof-dsa2048-224-sha256-p1363", "http://www.w3.org/2000/09/xmldsig#dsa-sha256"),
    ("dsa_2048_256_sha256_p1363_test.json", "wycheproof-dsa2048-256-sha256-p1363", "http://www.w3.org/2000/09/xmldsig#dsa-sha256"),
    ("ecdsa_secp256r1_sha256_p1363_test.json", "wycheproof-ecdsa-p256-sha256-p1363", "http://www.w3.org/2001/04/xmldsig-more#ecdsa-sha256"),
]
MAC_FILES = [
    ("hmac_sha1_test.json", "wycheproof-hmac-sha1", "sha1"),
    ("hmac_sha256_test.json", "wycheproof-hmac-sha256", "sha256"),
    ("hmac_sha512_test.json", "wycheproof-hmac-sha512", "sha512"),
]


def wycheproof_common(src: str, w: dict) -> dict:
    return {
        "source": f"Project Wycheproof testvectors_v1/{src} (C2SP/wycheproof commit "
        f"{WYCHEPROOF_COMMIT}), Apache-2.0: see vectors/primitives/WYCHEPROOF-LICENSE",
        "license": WYCHEPROOF_LICENSE,
        "generator": GENERATOR,
        "algorithm": w["algorithm"],
        "schema": w["schema"],
        "numberOfTests": w["numberOfTests"],
        "header": w.get("header", []),
        "notes": w.get("notes", {}),
    }


def test_fields(t: dict) -> dict:
    out = {"name": f"tcId {t['tcId']}", "tcId": t["tcId"], "comment": t["comment"], "flags": t["flags"], "result": t["result"]}
    return out


def wycheproof_signature(shared: Path, src: str, sign_alg: str) -> dict:
    w = json.loads((shared / "references/wycheproof" / src).read_text())
    groups, vectors = [], []
    for gi, g in enumerate(w["testGroups"]):
        assert g["sha"] == "SHA-256", (src, gi)
        group = {"group": gi, "type": g["type"], "sha": g["sha"], "publicKeyDer": g["publicKeyDer"].lower()}
        if "keySize" in g:
            group["keySize"] = g["keySize"]
        group["publicKey"] = g["publicKey"]
        groups.append(group)
        for t in g["tests"]:
            v = {**test_fields(t), "sign_alg": sign_alg, "group": gi, "msg": t["msg"].lower(), "sig": t["sig"].lower()}
            if t["result"] == "invalid":
                v["fail"] = True
                v["expected_error"] = "BadSignature"
            vectors.append(v)
    assert len(vectors) == w["numberOfTests"], src
    doc = wycheproof_common(src, w)
    doc["kind"] = "wycheproof_signature"
    doc["sign_alg"] = sign_alg
    doc["layout"] = (
        "groups[i] holds Wycheproof testGroups[i] without its tests (publicKeyDer: "
        "SubjectPublicKeyInfo DER, hex; publicKey: the key's components as Wycheproof "
        "gives them); each vector is one Wycheproof test with `group` = i, "
        "msg and sig in hex, and the Wycheproof result: valid must verify, invalid must fail "
        "(fail: true), acceptable may go either way"
    )
    doc["groups"] = groups
    doc["vectors"] = vectors
    return doc


def wycheproof_mac(shared: Path, src: str, hash_name: str) -> dict:
    w = json.loads((shared / "references/wycheproof" / src).read_text())
    vectors = []
    for g in w["testGroups"]:
        for t in g["tests"]:
            assert len(bytes.fromhex(t["key"])) * 8 == g["keySize"], (src, t["tcId"])
            v = {
                **test_fields(t),
                "hash": hash_name,
                "key_bits": g["keySize"],
                "tag_bits": g["tagSize"],
                "key": t["key"].lower(),
                "msg": t["msg"].lower(),
                "tag": t["tag"].lower(),
            }
            if t["result"] == "invalid":
                v["fail"] = True
                v["expected_error"] = "BadMac"
            vectors.append(v)
    assert len(vectors) == w["numberOfTests"], src
    doc = wycheproof_common(src, w)
    doc["kind"] = "wycheproof_mac"
    doc["hash"] = hash_name
    doc["layout"] = (
        "one vector per Wycheproof test, with its group's keySize/tagSize as key_bits/tag_bits; "
        "the tag is the HMAC truncated to its first tag_bits/8 bytes"
    )
    doc["vectors"] = vectors
    return doc


# ---------------------------------------------------------------------------
# sas28x5 (XEP-0116 §10, DECISIONS D32), computed here by hand
# ---------------------------------------------------------------------------

SAS_ALPHABET = "acdefghikmopqruvwxy123456789"


def base28_digits(v: int) -> list[int]:
    digits = []
    while True:
        digits.append(v % 28)
        v //= 28
        if v == 0:
            break
    return digits[::-1]


def sas_vector(name: str, digest: bytes) -> dict:
    v = int.from_bytes(digest[-3:], "big")
    digits = base28_digits(v)
    padded = [0] * (5 - len(digits)) + digits
    sas = "".join(SAS_ALPHABET[d] for d in padded)
    unpadded = "".join(SAS_ALPHABET[d] for d in digits)
    terms = " + ".join(f"{d}*28^{4 - i}" for i, d in enumerate(padded))
    letters = ",".join(SAS_ALPHABET[d] for d in padded)
    assert sum(d * 28 ** (4 - i) for i, d in enumerate(padded)) == v
    derivation = (
        f"last 3 bytes {digest[-3:].hex()} = {v} = {terms}; digits "
        f"{','.join(map(str, padded))} -> {letters} = {sas!r}; unpadded (leading 'a' "
        f"stripped, at least one kept) {unpadded!r}"
    )
    return {"name": name, "digest": digest.hex(), "sas": sas, "sas_unpadded": unpadded, "derivation": derivation}


def sas() -> dict:
    def with_tail(label: str, tail: int) -> bytes:
        # A real SHA-256 output whose last three bytes are then set to `tail`.
        h = hashlib.sha256(label.encode()).digest()
        return h[:-3] + tail.to_bytes(3, "big")

    vectors = [sas_vector("three zero bytes -> aaaaa", with_tail("sas zero", 0))]
    edges = [
        (1, "1"),
        (27, "28^1 - 1"),
        (28, "28^1"),
        (783, "28^2 - 1"),
        (784, "28^2"),
        (21951, "28^3 - 1"),
        (21952, "28^3"),
        (614655, "28^4 - 1"),
        (614656, "28^4"),
        (0x7FFFFF, "2^23 - 1"),
        (0x800000, "2^23"),
        (0xFFFFFF, "0xffffff = 2^24 - 1"),
    ]
    for value, label in edges:
        vectors.append(sas_vector(f"tail {label}", with_tail(f"sas {value}", value)))
    # Only the last three bytes count: bytes before them are all ff.
    vectors.append(sas_vector("only the last 3 bytes count", b"\xff" * 29 + b"\x00\x00\x01"))
    # Plain SHA-256 outputs, untouched.
    for msg in ["abc", "", "Short Authentication String"]:
        vectors.append(sas_vector(f"SHA-256({msg!r})", hashlib.sha256(msg.encode()).digest()))
    # A 64-byte SHA-512 output: the rule is the same for any hash length.
    vectors.append(sas_vector("SHA-512('abc')", hashlib.sha512(b"abc").digest()))
    for name, ok in [("sas28x5", True), ("SAS28X5", False), ("sas28x4", False), ("", False)]:
        v = {"name": f"from_name {name!r}", "op": "from_name", "sas_alg": name}
        if not ok:
            v["fail"] = True
            v["expected_error"] = "UnknownAlgorithm"
        vectors.append(v)
    for v in vectors:
        v.setdefault("op", "sas")
    return {
        "source": "XEP-0116 §10 sas28x5 with DECISIONS D32 (padded to 5 with 'a') and G5 "
        "(Gajim's unpadded form); expected strings computed independently by " + GENERATOR,
        "generator": GENERATOR,
        "kind": "sas",
        "vectors": vectors,
    }


# ---------------------------------------------------------------------------
# MPI (XEP-0116 §6.1, DECISIONS D1)
# ---------------------------------------------------------------------------


def mpis() -> dict:
    vectors = []

    def encode(name: str, raw: bytes, why: str) -> None:
        out = mpi(int.from_bytes(raw, "big"))
        vectors.append({"name": name, "op": "encode", "input": raw.hex(), "mpi": out.hex(), "derivation": why})

    encode("0 -> 00", b"\x00", "mpi(0) = 00 (D1)")
    encode("empty -> 00", b"", "the empty big-endian string is 0, and mpi(0) = 00")
    encode("0000 -> 00", b"\x00\x00", "all zero bytes: the value 0, mpi(0) = 00")
    encode("strip leading zeros", b"\x00\x00\x01\x00", "000100 = 256 -> minimal 0100")
    encode("high bit kept, no sign byte", b"\x80", "0x80 = 128: no sign byte is added (unsigned)")
    encode("00ff -> ff", b"\x00\xff", "leading 00 removed, 0xff kept")
    encode("already minimal", bytes.fromhex("0102030405"), "no leading zero: unchanged")
    encode(
        "256-byte value with 3 leading zeros",
        b"\x00\x00\x00" + bytes(range(1, 254)),
        "a 2048-bit-wide value whose top 3 bytes are zero is sent as 253 bytes",
    )

    def decode(name: str, raw: bytes, error: str | None, why: str) -> None:
        v = {"name": name, "op": "decode", "input": raw.hex(), "derivation": why}
        if error:
            v["fail"] = True
            v["expected_error"] = error
        vectors.append(v)

    decode("decode empty", b"", "InvalidMpi", "D1: decoders reject an empty MPI")
    decode("decode 00", b"\x00", None, "mpi(0) = 00 is minimal")
    decode("decode 0001", b"\x00\x01", "InvalidMpi", "D1: a leading 00 other than mpi(0)")
    decode("decode 0000", b"\x00\x00", "InvalidMpi", "two zero bytes: not mpi(0)")
    decode("decode 0100", b"\x01\x00", None, "minimal: first byte non-zero")
    decode("decode 80", b"\x80", None, "minimal; no sign interpretation")

    def counter_encode(name: str, value: int) -> None:
        vectors.append(
            {
                "name": name,
                "op": "encode_counter",
                "value": value.to_bytes(16, "big").hex(),
                "mpi": mpi(value).hex(),
                "derivation": f"counter {value} -> minimal big-endian {mpi(value).hex()}",
            }
        )

    counter_encode("counter 0", 0)
    counter_encode("counter 1", 1)
    counter_encode("counter 256", 256)
    counter_encode("counter 2^127", 1 << 127)
    counter_encode("counter 2^128-1", (1 << 128) - 1)

    def counter_decode(name: str, raw: bytes, error: str | None, why: str) -> None:
        v = {"name": name, "op": "decode_counter", "input": raw.hex(), "derivation": why}
        if error:
            v["fail"] = True
            v["expected_error"] = error
        else:
            v["value"] = int.from_bytes(raw, "big").to_bytes(16, "big").hex()
        vectors.append(v)

    counter_decode("counter 00", b"\x00", None, "mpi(0)")
    counter_decode("counter 16 x ff", b"\xff" * 16, None, "16 bytes = 128 bits: the largest counter")
    counter_decode("counter 01 + 15 x 00", b"\x01" + b"\x00" * 15, None, "2^120")
    counter_decode("counter 17 bytes", b"\x01" * 17, "InvalidMpi", "D1: counters longer than 16 bytes rejected")
    counter_decode(
        "counter 01 + 16 x 00", b"\x01" + b"\x00" * 16, "InvalidMpi", "2^128 needs 17 bytes: too long"
    )
    counter_decode(
        "counter 00 + 16 x ff",
        b"\x00" + b"\xff" * 16,
        "InvalidMpi",
        "fits in 128 bits once stripped, but the leading 00 is not minimal",
    )
    counter_decode("counter empty", b"", "InvalidMpi", "D1: empty MPI")
    counter_decode("counter 0001", b"\x00\x01", "InvalidMpi", "leading 00")
    return {
        "source": "XEP-0116 §6.1 and DECISIONS D1 (mpi: minimal unsigned big-endian, mpi(0) = 00; "
        "decoders reject empty, leading 00 and counters over 16 bytes); expected values derived by "
        + GENERATOR,
        "generator": GENERATOR,
        "kind": "mpi",
        "vectors": vectors,
    }


# ---------------------------------------------------------------------------
# Diffie-Hellman agreement, computed with Python's pow()
# ---------------------------------------------------------------------------


def exponent(label: str, nbytes: int) -> int:
    """A fixed exponent: SHA-256 blocks of `label|i` concatenated, top bit set."""
    out = b""
    i = 0
    while len(out) < nbytes:
        out += hashlib.sha256(f"{label}|{i}".encode()).digest()
        i += 1
    x = int.from_bytes(out[:nbytes], "big")
    return x | (1 << (nbytes * 8 - 1))


def dh(shared: Path) -> dict:
    ref = json.loads((shared / "references/modp-groups.json").read_text())
    vectors = []
    for g in ref["groups"]:
        n = g["group"]
        p = int(g["p_hex"], 16)
        gen = g["generator"]
        sizes = [("rfc3526-size exponents", 40), ("full-width exponents", g["bits"] // 8 - 1)]
        if g["bits"] > 3072:
            # Imported exponents are processed at the full width of p either way; one
            # vector per large group keeps the debug-build run short.
            sizes = sizes[1:]
        for label, xa_bytes in sizes:
            xa = exponent(f"esession dh {n} alice {label}", xa_bytes)
            xb = exponent(f"esession dh {n} bob {label}", xa_bytes)
            vectors.append(dh_vector(f"group {n} {label}", n, p, gen, xa, xb))
    # A shared secret whose top byte is zero, to show that mpi() strips it before
    # hashing (D8: K = HASH(mpi(g^xy mod p)), not padded to the width of p).
    g14 = next(g for g in ref["groups"] if g["group"] == 14)
    p = int(g14["p_hex"], 16)
    xa = exponent("esession dh 14 alice short", 40)
    ea = pow(2, xa, p)
    i = 0
    while True:
        xb = exponent(f"esession dh 14 bob short {i}", 40)
        if pow(ea, xb, p).bit_length() <= 2048 - 8:
            break
        i += 1
    vectors.append(dh_vector("group 14 shared secret with leading zero byte stripped", 14, p, 2, xa, xb))
    return {
        "source": "Diffie-Hellman over the RFC 2409/3526 MODP groups with fixed exponents; "
        "e, shared secret and K = SHA-256(mpi(g^xy mod p)) (XEP-0116 §4.5.1, DECISIONS D1, D8) "
        "computed independently with Python's pow() and hashlib by " + GENERATOR,
        "generator": GENERATOR,
        "kind": "dh",
        "vectors": vectors,
    }


def dh_vector(name: str, n: int, p: int, gen: int, xa: int, xb: int) -> dict:
    assert 1 < xa < p - 1 and 1 < xb < p - 1
    ea, eb = pow(gen, xa, p), pow(gen, xb, p)
    s = pow(eb, xa, p)
    assert s == pow(ea, xb, p)
    k = hashlib.sha256(mpi(s)).digest()
    return {
        "name": name,
        "modp_group": n,
        "hash": "sha256",
        "x_a": mpi(xa).hex(),
        "x_b": mpi(xb).hex(),
        "e_a": mpi(ea).hex(),
        "e_b": mpi(eb).hex(),
        "shared": mpi(s).hex(),
        "k": k.hex(),
        "derivation": f"e_a = {gen}^x_a mod p, e_b = {gen}^x_b mod p, shared = e_b^x_a mod p = "
        f"e_a^x_b mod p ({len(mpi(s))} bytes as mpi), k = SHA-256(mpi(shared)); Python pow()",
    }


def main() -> None:
    here = Path(__file__).resolve().parent
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--shared", type=Path, default=here.parent.parent.parent / "shared")
    ap.add_argument("--out", type=Path, default=here.parent / "primitives")
    ap.add_argument("--suffix", default="", help='e.g. "-new" (STYLE.md §6)')
    args = ap.parse_args()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    shared: Path = args.shared
    write(out, "modp-groups", args.suffix, modp(shared))
    write(out, "aes-ctr-sp800-38a", args.suffix, ctr(shared))
    for src, name, alg in SIGNATURE_FILES:
        write(out, name, args.suffix, wycheproof_signature(shared, src, alg))
    for src, name, h in MAC_FILES:
        write(out, name, args.suffix, wycheproof_mac(shared, src, h))
    write(out, "sas28x5", args.suffix, sas())
    write(out, "mpi", args.suffix, mpis())
    write(out, "dh-agreement", args.suffix, dh(shared))
    shutil.copyfile(shared / "references/wycheproof/LICENSE", out / "WYCHEPROOF-LICENSE")


if __name__ == "__main__":
    main()
