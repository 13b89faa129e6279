#!/usr/bin/env python3
"""Re-derives every value of every vectors/sigma/*.json file from its recorded secrets.

Usage (from the repository root):

    python3 vectors/tools/rederive_sigma.py [--dir vectors/sigma] [-v]

Exit status 0 if every value re-derives, 1 if any file has a mismatch (all
mismatches are listed). This is an independent implementation of the XEP-0188 / XEP-0116
key schedule as DECISIONS.md resolves it, sharing no code with the Rust crates:

* MODP primes from the RFC 2409/3526 formula p = 2^N - 2^(N-64) - 1 + 2^64 * (floor(2^(N-130) pi) + k),
  with pi computed by Machin's formula (xepref.py, the helpers the three re-derivations
  share; cross-checked against vectors/primitives/modp-groups.json, and against
  ../shared/references/modp-groups.json when that file is present);
* DH with Python's pow(); mpi() = minimal big-endian bytes (D1);
* hashlib / hmac for HASH and HMAC (D8, D9);
* AES-CTR from the `cryptography` package (OpenSSL), whose 16-byte counter block is
  incremented as one 128-bit big-endian integer (D13);
* RSASSA-PKCS1-v1_5 / SHA-256 from `cryptography` (D31), re-signing with the recorded
  private key (the scheme is deterministic) and verifying with the recorded public key.

Profiles (DECISIONS "Gajim profile summary"): in `gajim` the AES key is all 32 bytes of the
HMAC output (G1), the CTR cipher enters with C+1 (G2), the SAS is shown unpadded (G5), and a
stanza MAC may carry the counter minimal or padded to 16 bytes (G3).
"""

from __future__ import annotations

import base64
import hmac
import sys

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from xepref import KEY_LEN, aes_ctr, hashfn, modp_prime, mpi, rsa_key_value, run, sas28x5
from xepref import nblocks as blocks
from xepref import unhex as h

# ---------------------------------------------------------------- the key schedule

def derive(doc: dict, c) -> None:
    profile = doc["profile"]
    gajim = profile == "gajim"
    neg = doc["negotiated"]
    H = hashfn(neg["hash_algs"])
    hm = lambda key, *parts: hmac.new(key, b"".join(parts), H).digest()  # noqa: E731 (D9: key first)
    cipher = neg["crypt_algs"]
    if cipher not in KEY_LEN:
        c.failures.append(f"cipher {cipher} not supported by this checker")
        return
    alice, bob, d_ = doc["alice"], doc["bob"], doc["derived"]
    three = doc["mode"] == "3-message"

    def cipher_key(out: bytes) -> bytes:
        return out[-32:] if gajim else out[-KEY_LEN[cipher]:]  # D10 / G1

    def entry(counter: int) -> int:
        return counter + 1 if gajim else counter  # D13 / G2

    def direction(k: bytes, who: str) -> dict:
        return {"KC": cipher_key(hm(k, f"{who} Cipher Key".encode())),
                "KM": hm(k, f"{who} MAC Key".encode()),
                "KS": hm(k, f"{who} SIGMA Key".encode())}

    # --- DH (D5-D8)
    group = neg["modp"]
    p = modp_prime(group)
    for g, xe in alice["dh"].items():
        c.eq(f"alice e for group {g}", mpi(pow(2, int(xe["x"], 16), modp_prime(int(g)))), h(xe["e"]))
    x = int(alice["dh"][str(group)]["x"], 16)
    e = h(alice["dh"][str(group)]["e"])
    y = int(bob["y"], 16)
    d = h(bob["d"])
    c.eq("bob d", mpi(pow(2, y, p)), d)
    c.true("1 < d < p-1 and 1 < e < p-1", 1 < int.from_bytes(d, "big") < p - 1 and 1 < int.from_bytes(e, "big") < p - 1)
    shared_a = pow(int.from_bytes(d, "big"), x, p)
    shared_b = pow(int.from_bytes(e, "big"), y, p)
    c.eq("shared secret agrees", shared_a, shared_b)
    if "shared_secret" in d_:
        c.eq("shared_secret", mpi(shared_a), h(d_["shared_secret"]))
    k = H(mpi(shared_a)).digest()
    c.eq("k_dh", k, h(d_["k_dh"]))

    n_a, n_b = h(alice["nonce"]), h(bob["nonce"])
    c_a = int(bob["counter_a"], 16)
    c_b = c_a ^ (1 << 127)
    c.eq("counter_b", c_b, int(d_["counter_b"], 16))
    form_a, form_a2 = d_["form_a"].encode(), d_["form_a2"].encode()
    form_b = d_["form_b"].encode()
    form_b2 = d_["form_b2"].encode() if not three else b""

    # --- public keys (D28, D29, D31)
    def key_value(sk: dict | None) -> bytes:
        if not sk:
            return b""
        kv = rsa_key_value(h(sk["modulus"]), h(sk["exponent"])).encode()
        c.eq("D28 KeyValue", kv.decode(), sk["key_value"])
        return kv

    def signed(sk: dict, mac: bytes, sig_hex: str, who: str) -> bytes:
        priv = serialization.load_der_private_key(h(sk["pkcs8"]), password=None)
        assert isinstance(priv, rsa.RSAPrivateKey)
        nums = priv.public_key().public_numbers()
        c.eq(f"{who} key modulus matches pkcs8", mpi(nums.n), h(sk["modulus"]))
        c.eq(f"{who} key exponent matches pkcs8", mpi(nums.e), h(sk["exponent"]))
        sig = priv.sign(mac, padding.PKCS1v15(), hashes.SHA256())
        c.eq(f"{who} RSASSA-PKCS1-v1_5 signature of mac", sig, h(sig_hex))
        pub = rsa.RSAPublicNumbers(int(sk["exponent"], 16), int(sk["modulus"], 16)).public_key()
        try:
            pub.verify(h(sig_hex), mac, padding.PKCS1v15(), hashes.SHA256())
            c.true(f"{who} signature verifies", True)
        except Exception:  # noqa: BLE001
            c.true(f"{who} signature verifies", False)
        return (sk["key_value"] + "<SignatureValue>" + base64.b64encode(sig).decode()
                + "</SignatureValue>").encode()

    pub_a = key_value(alice.get("sign_key"))
    pub_b = key_value(bob.get("sign_key"))

    # --- keys for Alice's identity (D11): provisional in 4-message, final (from K) in 3-message
    if three:
        ka, kb = direction(k, "Initiator"), direction(k, "Responder")
    else:
        ka = direction(k, "Initiator")
        pk = d_["provisional_keys"]
        c.eq("provisional KCA", ka["KC"], h(pk["KCA"]))
        c.eq("provisional KMA", ka["KM"], h(pk["KMA"]))
        c.eq("provisional KSA", ka["KS"], h(pk["KSA"]))

    # --- Alice's identity (XEP-0116 §4.6.3)
    mac_a = hm(ka["KS"], n_b, n_a, e, pub_a, form_a, form_a2)
    c.eq("mac_a", mac_a, h(d_["mac_a"]))
    plain_a = signed(alice["sign_key"], mac_a, d_["sign_a"], "alice") if pub_a else mac_a
    id_a = aes_ctr(ka["KC"], entry(c_a), plain_a)
    c.eq("id_a", id_a, h(d_["id_a"]))
    c.eq("m_a", hm(ka["KM"], mpi(c_a), id_a), h(d_["m_a"]))
    m_a = h(d_["m_a"])
    counters = {"alice": c_a + blocks(len(id_a))}

    if three:
        # 3-message (D46): keys from K are final, macB without formB2, no SRS step.
        final = {"A": ka, "B": kb}
        keys = d_["keys"]
        for side, who in (("A", "A"), ("B", "B")):
            c.eq(f"KC{who}", final[side]["KC"], h(keys[f"KC{who}"]))
            c.eq(f"KM{who}", final[side]["KM"], h(keys[f"KM{who}"]))
            c.eq(f"KS{who}", final[side]["KS"], h(keys[f"KS{who}"]))
    else:
        # --- SAS (§9, D32)
        padded, unpadded = sas28x5(H(m_a + form_b + b"Short Authentication String").digest())
        c.eq("sas", unpadded if gajim else padded, d_["sas"])

        # --- retained secrets (D33-D35)
        expected = sorted([hm(n_a, h(rs)).hex() for rs in alice["retained_secrets"]] + alice["rshashes_random"])
        c.eq("rshashes = HMAC(N_A, RS_i) + randoms", sorted(d_["rshashes"]), expected)
        if not gajim:
            c.true("1-3 random rshashes (D33)", 1 <= len(alice["rshashes_random"]) <= 3)
        rsh = {bytes.fromhex(r) for r in d_["rshashes"]}
        srs = next((h(s) for s in bob["retained_secrets"] if hm(n_a, h(s)) in rsh), None)
        c.eq("bob's SRS choice", srs.hex() if srs else None, d_["srs"])
        oss = h(bob["oss"]) if bob.get("oss") else b""
        c.eq("both hold the same OSS", alice.get("oss"), bob.get("oss"))
        k_final = H(k + (srs or b"") + oss).digest()
        c.eq("k_final", k_final, h(d_["k_final"]))
        srshash = hm(srs, b"Shared Retained Secret") if srs else h(bob["srshash_random"])
        c.eq("srshash", srshash, h(d_["srshash"]))
        srs_alice = next((h(s) for s in alice["retained_secrets"]
                          if hm(h(s), b"Shared Retained Secret") == srshash), None)
        c.eq("alice's SRS choice", srs_alice, srs)
        c.eq("new_retained_secret", hm(k_final, b"New Retained Secret"), h(d_["new_retained_secret"]))
        final = {"A": direction(k_final, "Initiator"), "B": direction(k_final, "Responder")}
        for side in ("A", "B"):
            for kind in ("KC", "KM", "KS"):
                c.eq(f"{kind}{side}", final[side][kind], h(d_["keys"][f"{kind}{side}"]))
        kb = final["B"]

    # --- Bob's identity (§4.5.4 / §4.7.4)
    mac_b = hm(kb["KS"], n_a, n_b, d, pub_b, form_b, form_b2)
    c.eq("mac_b", mac_b, h(d_["mac_b"]))
    plain_b = signed(bob["sign_key"], mac_b, d_["sign_b"], "bob") if pub_b else mac_b
    id_b = aes_ctr(kb["KC"], entry(c_b), plain_b)
    c.eq("id_b", id_b, h(d_["id_b"]))
    c.eq("m_b", hm(kb["KM"], mpi(c_b), id_b), h(d_["m_b"]))
    counters["bob"] = c_b + blocks(len(id_b))

    # --- XEP-0200 stanzas (D13, D14, D40)
    for i, st in enumerate(doc.get("stanzas", [])):
        who = st["from"]
        key = final["A" if who == "alice" else "B"]
        before = int(st["counter_before"], 16)
        c.eq(f"stanza {i} counter_before continues", before, counters[who] % 2**128)
        data = aes_ctr(key["KC"], entry(before), st["plaintext"].encode())
        c.eq(f"stanza {i} data", data, h(st["data"]))
        after = (before + blocks(len(data))) % 2**128
        c.eq(f"stanza {i} counter_after", after, int(st["counter_after"], 16))
        counters[who] = after
        c.eq(f"stanza {i} m_content", st["m_content"], "<data>" + base64.b64encode(data).decode() + "</data>")
        encodings = [mpi(before)] + ([before.to_bytes(16, "big")] if gajim else [])
        c.true(f"stanza {i} mac", any(hm(key["KM"], st["m_content"].encode(), enc) == h(st["mac"])
                                      for enc in encodings))

    # --- re-keys (XEP-0200 §9, D41): K = mpi(d^x mod p), unhashed
    for i, rk in enumerate(doc.get("rekeys", [])):
        rx = int(rk["x"], 16)
        c.eq(f"rekey {i} e", mpi(pow(2, rx, p)), h(rk["e"]))
        peer_pub = int(rk["peer_public"], 16)
        peer_priv = y if rk["from"] == "alice" else x
        c.eq(f"rekey {i} peer_public is the peer's DH value",
             mpi(pow(2, peer_priv, p)), h(rk["peer_public"]))
        kk = mpi(pow(peer_pub, rx, p))
        c.eq(f"rekey {i} shared secret agrees", kk, mpi(pow(int(rk["e"], 16), peer_priv, p)))
        c.eq(f"rekey {i} shared_secret", kk, h(rk["shared_secret"]))
        c.eq(f"rekey {i} KCA", cipher_key(hm(kk, b"Rekey Initiator Crypt")), h(rk["keys"]["KCA"]))
        c.eq(f"rekey {i} KCB", cipher_key(hm(kk, b"Rekey Acceptor Crypt")), h(rk["keys"]["KCB"]))
        c.eq(f"rekey {i} KMA", hm(kk, b"Rekey Initiator MAC"), h(rk["keys"]["KMA"]))
        c.eq(f"rekey {i} KMB", hm(kk, b"Rekey Acceptor MAC"), h(rk["keys"]["KMB"]))


if __name__ == "__main__":
    sys.exit(run("sigma", derive, lambda doc: f" ({doc.get('profile')}, {doc.get('mode')})"))
