"""The arithmetic and encodings the independent re-derivations share
(rederive_sigma.py, rederive_online.py, rederive_offline.py).

Written from the XEPs and the project's byte-level readings (D1-D50), sharing no code
with the Rust crates: Python 3.11's int, hashlib and hmac, xml.etree for parsing, and the
`cryptography` package (OpenSSL) for AES-CTR and RSA only.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import json
import pathlib
import sys
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives.ciphers import Cipher, algorithms, modes

REPO = pathlib.Path(__file__).resolve().parents[2]

# ---------------------------------------------------------------- MODP groups (RFC 2409, 3526)

# p = 2^N - 2^(N-64) - 1 + 2^64 * (floor(2^(N-130) pi) + k), generator 2.
MODP_K = {1: (768, 149686), 2: (1024, 129093), 5: (1536, 741804), 14: (2048, 124476),
          15: (3072, 1690314), 16: (4096, 240904), 17: (6144, 929484), 18: (8192, 4743158)}


def _arctan_inv(x: int, one: int) -> int:
    total, term, n, sign = 0, one // x, 1, 1
    x2 = x * x
    while term:
        total += sign * (term // n)
        term //= x2
        n += 2
        sign = -sign
    return total


def _pi_fixed(bits: int) -> int:
    """floor(pi * 2^bits), by Machin's formula with 64 guard bits."""
    guard = 64
    one = 1 << (bits + guard)
    pi = 16 * _arctan_inv(5, one) - 4 * _arctan_inv(239, one)
    return pi >> guard


_PRIMES: dict[int, int] = {}


def modp_prime(group: int) -> int:
    if group not in _PRIMES:
        n, k = MODP_K[group]
        _PRIMES[group] = 2**n - 2 ** (n - 64) - 1 + 2**64 * (_pi_fixed(n - 130) + k)
    return _PRIMES[group]


def cross_check_primes() -> None:
    """Exits unless the formula gives the primes of vectors/primitives/modp-groups.json
    (imported from the RFCs' published values), and of ../shared's reference when present."""
    doc = json.loads((REPO / "vectors/primitives/modp-groups.json").read_text())
    for v in doc["vectors"]:
        if v["op"] == "group" and "p" in v and modp_prime(v["modp_group"]) != int(v["p"], 16):
            sys.exit(f"MODP group {v['modp_group']}: formula and vectors/primitives disagree")
    upstream = REPO.parent / "shared/references/modp-groups.json"
    if upstream.exists():
        for g in json.loads(upstream.read_text())["groups"]:
            if modp_prime(g["group"]) != int(g["p_hex"], 16):
                sys.exit(f"MODP group {g['group']}: formula and {upstream} disagree")


# ---------------------------------------------------------------- encodings and primitives

def mpi(v: int) -> bytes:
    """D1: minimal unsigned big-endian, mpi(0) = 00."""
    return v.to_bytes(max(1, (v.bit_length() + 7) // 8), "big")


def unhex(s: str | None) -> bytes:
    return bytes.fromhex(s) if s else b""


def b64d(s: str) -> bytes:
    return base64.b64decode(s, validate=True)


def b64e(b: bytes) -> str:
    return base64.b64encode(b).decode()


def hashfn(name: str):
    return {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}[name]


def aes_ctr(key: bytes, counter: int, data: bytes) -> bytes:
    """D13: the counter block is C as one 128-bit big-endian integer, wrapping mod 2^128."""
    enc = Cipher(algorithms.AES(key), modes.CTR((counter % 2**128).to_bytes(16, "big"))).encryptor()
    return enc.update(data) + enc.finalize()


def nblocks(n: int) -> int:
    """The number of 16-byte blocks (the last one partial) that n bytes take."""
    return (n + 15) // 16


KEY_LEN = {"aes128-ctr": 16, "aes192-ctr": 24, "aes256-ctr": 32}
SAS_ALPHABET = "acdefghikmopqruvwxy123456789"


def sas28x5(digest: bytes) -> tuple[str, str]:
    """XEP-0116 §10: base 28 of the last 24 bits; (padded to 5 with 'a' (D32), unpadded)."""
    v = int.from_bytes(digest[-3:], "big")
    out = ""
    while True:
        out = SAS_ALPHABET[v % 28] + out
        v //= 28
        if v == 0:
            break
    return out.rjust(5, "a"), out


def rsa_key_value(modulus: bytes, exponent: bytes) -> str:
    """D28: the normalized <KeyValue/> of an RSA key (b64 of the minimal integers)."""
    return ("<KeyValue><RSAKeyValue><Modulus>" + b64e(modulus) + "</Modulus><Exponent>"
            + b64e(exponent) + "</Exponent></RSAKeyValue></KeyValue>")


# ---------------------------------------------------------------- data forms

NS_DATA = "{jabber:x:data}"


def form_fields(x: ET.Element) -> dict[str, list[str]]:
    """var -> values of a data form <x/> (option values for list fields)."""
    out: dict[str, list[str]] = {}
    for f in x.findall(f"{NS_DATA}field"):
        vals = [v.text or "" for v in f.findall(f"{NS_DATA}value")]
        vals += [v.text or "" for o in f.findall(f"{NS_DATA}option") for v in o.findall(f"{NS_DATA}value")]
        out[f.get("var", "")] = vals
    return out


def one(fields: dict[str, list[str]], var: str) -> str:
    vals = fields.get(var, [])
    if len(vals) != 1:
        raise ValueError(f"field {var}: {len(vals)} values")
    return vals[0]


def _local(name: str) -> str:
    return name.rsplit("}", 1)[-1]


def _esc_text(s: str) -> str:
    return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\r", "&#xD;")


def _esc_attr(s: str) -> str:
    return (s.replace("&", "&amp;").replace("<", "&lt;").replace('"', "&quot;")
            .replace("\t", "&#x9;").replace("\n", "&#xA;").replace("\r", "&#xD;"))


def normalize(el: ET.Element) -> str:
    """D17: local names only, no xmlns, attributes sorted and double-quoted, start-end
    pairs for empty elements, text kept only in elements without element children."""
    attrs = "".join(f' {k}="{_esc_attr(v)}"' for k, v in sorted(el.attrib.items()))
    children = list(el)
    content = "".join(normalize(c) for c in children) if children else _esc_text(el.text or "")
    name = _local(el.tag)
    return f"<{name}{attrs}>{content}</{name}>"


def form_content(x: ET.Element, exclude: tuple[str, ...]) -> bytes:
    """D16: the normalized element children of a form, in order, without the fields
    whose var is in `exclude`, concatenated as UTF-8."""
    return "".join(normalize(c) for c in x
                   if not (_local(c.tag) == "field" and c.get("var") in exclude)).encode()


# ---------------------------------------------------------------- XEP-0200

NS_C = "{http://www.xmpp.org/extensions/xep-0200.html#ns}"


def m_content(c: ET.Element) -> str:
    """D39: every child of <c/> but <mac/>, in received order, as <name>text</name>."""
    return "".join(f"<{_local(ch.tag)}>{ch.text or ''}</{_local(ch.tag)}>"
                   for ch in c if ch.tag != NS_C + "mac")


# ---------------------------------------------------------------- reporting

class Checker:
    """Collects every comparison of a file; a mismatch is recorded, never raised."""

    def __init__(self, verbose: bool):
        self.verbose, self.failures, self.checked = verbose, [], 0

    def eq(self, what: str, got, expected) -> None:
        self.checked += 1
        if got != expected:
            g = got.hex() if isinstance(got, bytes) else got
            e = expected.hex() if isinstance(expected, bytes) else expected
            self.failures.append(f"{what}: computed {g!r}, recorded {e!r}")
        elif self.verbose:
            print(f"  ok {what}")

    def true(self, what: str, cond: bool) -> None:
        self.eq(what, bool(cond), True)


def run(folder: str, derive, describe=lambda doc: "") -> int:
    """Runs `derive(doc, checker)` on every vector file of vectors/<folder> (or --dir);
    prints one line per file and returns the exit status."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--dir", default=str(REPO / "vectors" / folder))
    ap.add_argument("-v", "--verbose", action="store_true")
    a = ap.parse_args()
    cross_check_primes()
    files = sorted(p for p in pathlib.Path(a.dir).glob("*.json") if not p.name.endswith("-new.json"))
    if not files:
        print(f"no vector files in {a.dir}")
        return 1
    bad = 0
    for f in files:
        doc = json.loads(f.read_text())
        c = Checker(a.verbose)
        try:
            derive(doc, c)
        except (KeyError, ValueError, TypeError, IndexError, ET.ParseError) as ex:
            c.failures.append(f"malformed vector: {type(ex).__name__}: {ex}")
        status = "ok  " if not c.failures else "FAIL"
        print(f"{status} {f.name}: {c.checked} values checked{describe(doc)}")
        for msg in c.failures:
            print(f"     {msg}")
        bad += bool(c.failures)
    print(f"{len(files) - bad} of {len(files)} files re-derived")
    return 1 if bad else 0
