#!/usr/bin/env python3
"""Re-derives the key schedule of every vectors/online/*.json file from its recorded
secrets and its recorded stanzas.

Usage (from the repository root):

    python3 vectors/tools/rederive_online.py [--dir vectors/online] [-v]

Exit status 0 if every value re-derives, 1 if any file has a mismatch (all mismatches
are listed). Independent of the Rust crates: Python 3 stdlib (hashlib, hmac, pow(),
xml.etree) and the `cryptography` package (AES-CTR from OpenSSL) only; the MODP primes,
encodings and the report come from xepref.py, shared with the other re-derivations.

What it reads from where:

* the secrets (x, y, nonces, C_A, retained secrets, OSS, random rshashes, random
  srshash) from the `alice` / `bob` records;
* every public value from the recorded XML stanzas themselves: dhhashes (msg1), d, the
  chosen algorithms, N_B, the echoed N_A and C_A (msg2), e, rshashes, ID_A, M_A (msg3),
  srshash, ID_B, M_B (msg4), and each XEP-0200 `<c/>`'s data and mac;
* the normalized form bytes formA, formB, formA2, formB2 from the recorded `form_*`
  strings (DECISIONS D16, D17 normalization is not re-implemented here).

It then recomputes K, the provisional and final keys, macA, ID_A, M_A, the SAS, Bob's
and Alice's SRS choice, K_final, srshash, macB, ID_B, M_B and the new retained secret
(XEP-0116 §4.5-§4.8, DECISIONS D1, D5-D14, D32-D37), decrypts and authenticates every
encrypted stanza (XEP-0200 §6, D39, D40), and compares both with the stanzas and with
the recorded `derived` values. A rejection file (`expect_error`) is checked for the
XEP-0116 §4.2 / D44 answer it records.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import xml.etree.ElementTree as ET

from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from xepref import (KEY_LEN, NS_C, NS_DATA, Checker, aes_ctr, b64d, m_content, modp_prime,
                    mpi, nblocks, one, rsa_key_value, run, sas28x5, unhex)
from xepref import form_fields as fields_of

NS_STANZAS = "{urn:ietf:params:xml:ns:xmpp-stanzas}"


def form_fields(xml: str) -> dict[str, list[str]]:
    """var -> values of the data form in a stanza (option values for list fields)."""
    x = ET.fromstring(xml).find(f".//{NS_DATA}x")
    if x is None:
        raise ValueError("no data form")
    return fields_of(x)


def check_rejection(doc: dict, c: Checker) -> None:
    msgs = doc["messages"]
    condition, _, field = doc["expect_error"].partition(" ")
    root = ET.fromstring(msgs[-1]["xml"])
    c.eq("the answer is an error stanza", root.get("type"), "error")
    err = root.find("{jabber:client}error")
    c.eq("error condition (D44)", err is not None and err.find(NS_STANZAS + condition) is not None, True)
    named = [f.get("var") for f in err.iter() if f.tag.endswith("}field")] if err is not None else []
    c.eq("error names the field (D44)", field in named, True)
    offered = form_fields(msgs[0]["xml"])["modp"]
    c.eq("the offer has no group Bob accepts",
         [g for g in offered if int(g) in doc["bob"]["accept_modp"]], [])


def check_plain(doc: dict, c: Checker) -> None:
    """XEP-0116 §4.4: Bob accepts a plain stanza session; stanzas travel in the clear."""
    accept = form_fields(doc["messages"][1]["xml"])
    c.eq("plain accept: accept", one(accept, "accept"), "1")
    c.eq("plain accept: security c2s/none", one(accept, "security") in ("c2s", "none"), True)
    offered = form_fields(doc["messages"][0]["xml"])["security"]
    c.eq("alice offered that security value", one(accept, "security") in offered, True)
    for i, st in enumerate(doc.get("stanzas", [])):
        root = ET.fromstring(st["xml"])
        c.eq(f"plain stanza {i} has no <c/>", root.find(NS_C + "c") is None, True)
        body = "".join(f"<{ch.tag.split('}')[1]}>{ch.text or ''}</{ch.tag.split('}')[1]}>"
                       for ch in root if ch.tag != "{jabber:client}thread")
        c.eq(f"plain stanza {i} content", body, st["plaintext"])


def derive(doc: dict, c: Checker) -> None:
    if doc.get("mode") == "plain":
        check_plain(doc, c)
        return
    if doc.get("profile") != "xep" or doc.get("mode") not in ("4-message", "3-message"):
        c.failures.append(f"unsupported profile/mode {doc.get('profile')}/{doc.get('mode')}")
        return
    if "expect_error" in doc:
        check_rejection(doc, c)
        return
    alice, bob, rec = doc["alice"], doc["bob"], doc["derived"]
    msgs = [form_fields(m["xml"]) for m in doc["messages"]]
    three = doc["mode"] == "3-message"
    m1, m2, m3 = msgs[:3]
    m4 = msgs[3] if not three else {}
    hash_name = one(m2, "hash_algs")
    H = {"sha256": hashlib.sha256, "sha384": hashlib.sha384, "sha512": hashlib.sha512}[hash_name]

    def hm(key: bytes, *parts: bytes) -> bytes:
        return hmac.new(key, b"".join(parts), H).digest()

    klen = KEY_LEN[one(m2, "crypt_algs")]

    def keys(k: bytes, who: str) -> dict[str, bytes]:
        # D9, D10: HMAC(HASH, K, label); the cipher key is the last klen bytes.
        return {"KC": hm(k, f"{who} Cipher Key".encode())[-klen:],
                "KM": hm(k, f"{who} MAC Key".encode()),
                "KS": hm(k, f"{who} SIGMA Key".encode())}

    # msg1 and msg2 against the secrets.
    n_a, n_b = unhex(alice["nonce"]), unhex(bob["nonce"])
    c.eq("msg1 my_nonce", b64d(one(m1, "my_nonce")), n_a)
    offered = [int(g) for g in m1["modp"]]
    es = {g: mpi(pow(2, int(alice["dh"][str(g)]["x"], 16), modp_prime(g))) for g in offered}
    if three:
        c.eq("msg1 dhkeys = mpi(e_i) (D46)", [b64d(v) for v in m1["dhkeys"]], [es[g] for g in offered])
    else:
        c.eq("msg1 dhhashes = SHA256(mpi(e_i)) (D7)", [b64d(v) for v in m1["dhhashes"]],
             [hashlib.sha256(es[g]).digest() for g in offered])
    group = int(one(m2, "modp"))
    p = modp_prime(group)
    d = b64d(one(m2, "dhkeys"))
    c.eq("msg2 dhkeys = g^y", d, mpi(pow(2, int(bob["y"], 16), p)))
    c.eq("msg2 my_nonce", b64d(one(m2, "my_nonce")), n_b)
    c.eq("msg2 nonce echoes N_A", b64d(one(m2, "nonce")), n_a)
    c_a = int.from_bytes(b64d(one(m2, "counter")), "big")
    c.eq("msg2 counter = C_A", c_a, int(bob["counter_a"], 16))
    c_b = c_a ^ (1 << 127)  # D12
    if three:
        e = es[group]
        c.eq("msg3 carries no dhkeys (D46)", "dhkeys" in m3, False)
    else:
        e = b64d(one(m3, "dhkeys"))
        c.eq("msg3 dhkeys = e of the chosen group", e, es[group])
        c.eq("msg4 nonce echoes N_A", b64d(one(m4, "nonce")), n_a)
    c.eq("msg3 nonce echoes N_B", b64d(one(m3, "nonce")), n_b)

    # K and the provisional keys (D8-D11).
    dv, ev = int.from_bytes(d, "big"), int.from_bytes(e, "big")
    c.eq("1 < d, e < p-1 (D7)", 1 < dv < p - 1 and 1 < ev < p - 1, True)
    shared = pow(dv, int(alice["dh"][str(group)]["x"], 16), p)
    c.eq("d^x = e^y", shared, pow(ev, int(bob["y"], 16), p))
    k = H(mpi(shared)).digest()
    c.eq("k_dh", k, unhex(rec["k_dh"]))
    pa = keys(k, "Initiator")
    if not three:
        for kind in ("KC", "KM", "KS"):
            c.eq(f"provisional {kind}A", pa[kind], unhex(rec["provisional_keys"][f"{kind}A"]))

    form_a, form_b = rec["form_a"].encode(), rec["form_b"].encode()
    # D46: 3-message has no formB2 (macB omits it).
    form_a2, form_b2 = rec["form_a2"].encode(), (rec["form_b2"].encode() if not three else b"")

    # Public keys (D27-D31): pubKey = the D28 <KeyValue/> string; mode key sends it,
    # mode hash sends <fingerprint>b64(SHA256(pubKey))</fingerprint>; either way the
    # identity is that part || <SignatureValue>b64(RSASSA-PKCS1-v1_5-SHA256(macX))</...>.
    mode = one(m2, "init_pubkey") if "init_pubkey" in m2 else "none"

    def pubkey(party: dict) -> bytes:
        sk = party.get("sign_key")
        if not sk:
            return b""
        kv = rsa_key_value(unhex(sk["modulus"]), unhex(sk["exponent"]))
        c.eq("D28 KeyValue", kv, sk["key_value"])
        return kv.encode()

    def identity(party: dict, mac: bytes, pub: bytes, sig_hex: str | None, who: str) -> bytes:
        if not pub:
            return mac
        priv = serialization.load_der_private_key(unhex(party["sign_key"]["pkcs8"]), password=None)
        assert isinstance(priv, rsa.RSAPrivateKey)
        c.eq(f"{who} key modulus matches pkcs8", mpi(priv.public_key().public_numbers().n),
             unhex(party["sign_key"]["modulus"]))
        sig = priv.sign(mac, padding.PKCS1v15(), hashes.SHA256())
        c.eq(f"{who} RSASSA-PKCS1-v1_5 signature of mac", sig, unhex(sig_hex))
        part = pub if mode == "key" else (
            b"<fingerprint>" + base64.b64encode(hashlib.sha256(pub).digest()) + b"</fingerprint>")
        return part + b"<SignatureValue>" + base64.b64encode(sig) + b"</SignatureValue>"

    pub_a, pub_b = pubkey(alice), pubkey(bob)

    def retained(m_a: bytes) -> dict:
        # Retained secrets and the OSS (D33-D37).
        rshashes = [b64d(v) for v in m3.get("rshashes", [])]
        c.eq("rshashes = HMAC(N_A, RS_i) + recorded randoms (D33)",
             sorted(rshashes),
             sorted([hm(n_a, unhex(rs)) for rs in alice["retained_secrets"]]
                    + [unhex(r) for r in alice["rshashes_random"]]))
        srs = next((unhex(rs) for rs in bob["retained_secrets"] if hm(n_a, unhex(rs)) in rshashes), None)
        c.eq("bob's SRS", srs, unhex(rec["srs"]) if rec.get("srs") else None)
        oss = unhex(bob.get("oss"))
        c.eq("same OSS", alice.get("oss"), bob.get("oss"))
        k_final = H(k + (srs or b"") + oss).digest()
        c.eq("k_final", k_final, unhex(rec["k_final"]))
        srshash = hm(srs, b"Shared Retained Secret") if srs else unhex(bob["srshash_random"])
        c.eq("msg4 srshash", b64d(one(m4, "srshash")), srshash)
        c.eq("alice's SRS", next((unhex(rs) for rs in alice["retained_secrets"]
                                 if hm(unhex(rs), b"Shared Retained Secret") == srshash), None), srs)
        c.eq("new_retained_secret", hm(k_final, b"New Retained Secret"), unhex(rec["new_retained_secret"]))
        final = {"alice": keys(k_final, "Initiator"), "bob": keys(k_final, "Responder")}
        for who, side in (("alice", "A"), ("bob", "B")):
            for kind in ("KC", "KM", "KS"):
                c.eq(f"{kind}{side}", final[who][kind], unhex(rec["keys"][f"{kind}{side}"]))
        return final

    # Alice's identity (XEP-0116 §4.6.3).
    mac_a = hm(pa["KS"], n_b, n_a, e, pub_a, form_a, form_a2)
    c.eq("mac_a", mac_a, unhex(rec["mac_a"]))
    id_a = aes_ctr(pa["KC"], c_a, identity(alice, mac_a, pub_a, rec.get("sign_a"), "alice"))
    c.eq("msg3 identity = ID_A", b64d(one(m3, "identity")), id_a)
    m_a = hm(pa["KM"], mpi(c_a), id_a)
    c.eq("msg3 mac = M_A", b64d(one(m3, "mac")), m_a)
    c.eq("id_a", id_a, unhex(rec["id_a"]))
    c.eq("m_a", m_a, unhex(rec["m_a"]))
    if three:
        # D46: the keys from K are final; no SAS, no SRS/OSS step; Bob's identity is in msg2.
        final = {"alice": pa, "bob": keys(k, "Responder")}
        for who, side in (("alice", "A"), ("bob", "B")):
            for kind in ("KC", "KM", "KS"):
                c.eq(f"{kind}{side}", final[who][kind], unhex(rec["keys"][f"{kind}{side}"]))
        bob_msg, bob_where = m2, "msg2"
    else:
        c.eq("sas (D32)", sas28x5(H(m_a + form_b + b"Short Authentication String").digest())[0], rec["sas"])
        final = retained(m_a)
        bob_msg, bob_where = m4, "msg4"

    # Bob's identity (§4.5.4 in msg2 for 3-message, §4.7.4 in msg4).
    kb = final["bob"]
    mac_b = hm(kb["KS"], n_a, n_b, d, pub_b, form_b, form_b2)
    c.eq("mac_b", mac_b, unhex(rec["mac_b"]))
    id_b = aes_ctr(kb["KC"], c_b, identity(bob, mac_b, pub_b, rec.get("sign_b"), "bob"))
    c.eq(f"{bob_where} identity = ID_B", b64d(one(bob_msg, "identity")), id_b)
    m_b = hm(kb["KM"], mpi(c_b), id_b)
    c.eq(f"{bob_where} mac = M_B", b64d(one(bob_msg, "mac")), m_b)

    # XEP-0200 stanzas: counters continue after the identities and through re-keys
    # (D13, D41); the MAC is over m_content || mpi(C), verified before deciphering
    # (D39, D40); a stanza without <data/> advances the counter by one (D40).
    counters = {"alice": c_a + nblocks(len(id_a)), "bob": c_b + nblocks(len(id_b))}
    latest = {"alice": e, "bob": d}  # each side's latest DH public value
    secret = {"alice": lambda: int(alice["dh"][str(group)]["x"], 16), "bob": lambda: int(bob["y"], 16)}
    rekeys = doc.get("rekeys", [])
    rekey_keys: list[tuple[str, dict, dict]] = []
    current = {"alice": final["alice"]["KM"], "bob": final["bob"]["KM"]}
    used = list(current.values())
    for i, st in enumerate(doc.get("stanzas", [])):
        who = st["from"]
        peer = "bob" if who == "alice" else "alice"
        under = st.get("under", "session")
        if under == "session":
            kk = final[who]
        else:
            by, ini, acc = rekey_keys[int(under.split(" ")[1])]
            kk = ini if by == who else acc
        cel = ET.fromstring(st["xml"]).find(NS_C + "c")
        if cel is None:
            c.failures.append(f"stanza {i}: no <c/>")
            continue
        content = m_content(cel)
        c.eq(f"stanza {i} m_content", content, st["m_content"])
        data_text = cel.findtext(NS_C + "data")
        data = b64d(data_text) if data_text is not None else b""
        mac = b64d(cel.findtext(NS_C + "mac") or "")
        # <old/> (XEP-0200 §8, D41): only retired MAC keys, never one in use.
        current[who] = kk["KM"]
        used.append(kk["KM"])
        olds = [b64d(o.text or "") for o in cel.findall(NS_C + "old")]
        c.eq(f"stanza {i} <old/> = old_mac_keys", [o.hex() for o in olds], st.get("old_mac_keys", []))
        for j, o in enumerate(olds):
            c.eq(f"stanza {i} old MAC key {j} is retired", o in used and o not in current.values(), True)
        before = counters[who] % 2**128
        c.eq(f"stanza {i} counter_before", before, int(st["counter_before"], 16))
        c.eq(f"stanza {i} a_mac under {under} keys", mac, hm(kk["KM"], content.encode(), mpi(before)))
        plain = aes_ctr(kk["KC"], before, data) if data_text is not None else b""
        c.eq(f"stanza {i} plaintext", plain.decode("utf-8", "replace"), st["plaintext"])
        counters[who] = (before + (nblocks(len(data)) if data_text is not None else 1)) % 2**128
        c.eq(f"stanza {i} counter_after", counters[who], int(st["counter_after"], 16))
        key_text = cel.findtext(NS_C + "key")
        if key_text is not None:
            # XEP-0200 §9.2, D41: K = mpi(peer_latest^x') (not hashed), labels by who sent <key/>.
            rk = rekeys[len(rekey_keys)]
            c.eq(f"re-key {len(rekey_keys)} from", rk["from"], who)
            new_e = b64d(key_text)
            c.eq(f"re-key {len(rekey_keys)} <key/> = g^x'", new_e, mpi(pow(2, int(rk["x"], 16), p)))
            c.eq(f"re-key {len(rekey_keys)} uses the peer's latest public value", unhex(rk["peer_public"]), latest[peer])
            shared_rk = mpi(pow(int.from_bytes(latest[peer], "big"), int(rk["x"], 16), p))
            if latest[peer] == (e if peer == "alice" else d):
                c.eq(f"re-key {len(rekey_keys)} the peer computes the same K",
                     mpi(pow(int.from_bytes(new_e, "big"), secret[peer](), p)), shared_rk)
            c.eq(f"re-key {len(rekey_keys)} shared_secret", shared_rk, unhex(rk["shared_secret"]))
            ini = {"KC": hm(shared_rk, b"Rekey Initiator Crypt")[-klen:], "KM": hm(shared_rk, b"Rekey Initiator MAC")}
            acc = {"KC": hm(shared_rk, b"Rekey Acceptor Crypt")[-klen:], "KM": hm(shared_rk, b"Rekey Acceptor MAC")}
            for name, got in (("KCA", ini["KC"]), ("KMA", ini["KM"]), ("KCB", acc["KC"]), ("KMB", acc["KM"])):
                c.eq(f"re-key {len(rekey_keys)} {name}", got, unhex(rk["keys"][name]))
            rekey_keys.append((who, ini, acc))
            latest[who] = new_e
    c.eq("every recorded re-key was carried by a <key/>", len(rekey_keys), len(rekeys))


if __name__ == "__main__":
    sys.exit(run("online", derive))
