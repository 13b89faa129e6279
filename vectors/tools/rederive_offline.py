#!/usr/bin/env python3
"""Re-derives every value of every vectors/offline/*.json file (XEP-0187 offline
sessions) from its recorded secrets and its recorded XML.

Usage (from the repository root):

    python3 vectors/tools/rederive_offline.py [--dir vectors/offline] [-v]

Exit status 0 if every value re-derives, 1 if any file has a mismatch (all mismatches
are listed). Independent of the Rust crates: Python 3.11 (int, hashlib, hmac,
xml.etree) and the `cryptography` package (AES-CTR and RSA) only, through xepref.py.
Unlike rederive_online.py, the normalized form bytes are computed here from the XML
(D16, D17), not read from the vector.

What is checked, from where:

* Alice's published options (`messages[0]`, XEP-0187 §3.1, D47, D48): my_nonce is N_A;
  dhkeys are b64(mpi(2^x mod p)) of her recorded x, one per offered group in order;
  expires and match_resource are hers; the signature input is the D17 form content
  without `signs` (= `derived.form_options`); `signs` holds her RSASSA-PKCS1-v1_5/SHA-256
  signature of it (re-signed with her key, deterministic, and verified with her public
  key).
* Bob's offline init (`messages[1]`, §3.3, D49): every chosen option was offered and is
  the recorded `negotiated` value; nonce echoes N_A, my_nonce is N_B, dhkeys is
  mpi(2^y mod p), counter is C_A, C_B = C_A xor 2^127 (D12); the stanza carries the AMP
  match-resource rule exactly when Alice published match_resource.
* The key schedule (XEP-0116 §4.5-4.6 as D49 restricts it): d^x = e^y, K =
  HASH(mpi(e^y)) with no SRS or OSS, the six keys (D9, D10); formB = the D17 init form
  without identity and mac; macB = HMAC(KS_B, N_A|N_B|mpi(d)|pubKeyB|formB); signB
  (re-signed and verified); ID_B = AES-CTR(KC_B, C_B, pubKeyB|<SignatureValue/>); M_B =
  HMAC(KM_B, mpi(C_B)|ID_B); then Alice's side: M_B verified, ID_B deciphered and split
  (D29), the <KeyValue/> read back into an RSA key that verifies signB over macB.
* The XEP-0200 content: each stanza's m_content (D39), MAC over m_content|mpi(C) (D40),
  plaintext deciphered with KC_B from C_B + blocks(ID_B) on (D13), counters.
* Failure vectors: `expired` is an honest message (everything above verifies) that
  arrives at or after expiry (D50); `bad-identity-mac` is a message whose M_B does not
  verify over its ID_B, and differs from the correct M_B in one Base64 character.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import sys
import xml.etree.ElementTree as ET
from datetime import datetime

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa

from xepref import (KEY_LEN, NS_C, NS_DATA, Checker, aes_ctr, b64d, b64e, form_content,
                    form_fields, hashfn, m_content, modp_prime, mpi, nblocks, one,
                    rsa_key_value, run, unhex)

NS_INIT = "{http://www.xmpp.org/extensions/xep-0116.html#ns-init}"
NS_AMP = "{http://jabber.org/protocol/amp}"
RSA_SHA256 = "http://www.w3.org/2000/09/xmldsig#rsa-sha256"


def when(s: str) -> datetime:
    return datetime.fromisoformat(s.replace("Z", "+00:00"))


def signing_key(party: dict, who: str, c: Checker):
    """The recorded private key, checked against its recorded modulus, exponent and
    D28 <KeyValue/>; returns (private key, KeyValue bytes)."""
    sk = party["sign_key"]
    c.eq(f"{who} sign_key alg", sk["alg"], RSA_SHA256)
    priv = serialization.load_der_private_key(unhex(sk["pkcs8"]), password=None)
    if not isinstance(priv, rsa.RSAPrivateKey):
        raise ValueError(f"{who}: not an RSA key")
    nums = priv.public_key().public_numbers()
    c.eq(f"{who} modulus matches pkcs8", mpi(nums.n), unhex(sk["modulus"]))
    c.eq(f"{who} exponent matches pkcs8", mpi(nums.e), unhex(sk["exponent"]))
    kv = rsa_key_value(mpi(nums.n), mpi(nums.e))
    c.eq(f"{who} KeyValue (D28)", kv, sk["key_value"])
    return priv, kv.encode()


def verifies(public: rsa.RSAPublicKey, sig: bytes, msg: bytes) -> bool:
    try:
        public.verify(sig, msg, padding.PKCS1v15(), hashes.SHA256())
        return True
    except InvalidSignature:
        return False


def key_from_key_value(kv: bytes) -> rsa.RSAPublicKey:
    """Alice's reading of pubKeyB: the modulus and exponent inside the <KeyValue/>."""
    root = ET.fromstring(kv)
    n = int.from_bytes(b64d(root.findtext("RSAKeyValue/Modulus") or ""), "big")
    e = int.from_bytes(b64d(root.findtext("RSAKeyValue/Exponent") or ""), "big")
    return rsa.RSAPublicNumbers(e, n).public_key()


def check_options(doc: dict, c: Checker):
    """messages[0]; returns (options fields, N_A, {group: e bytes}, form_options)."""
    alice, msg = doc["alice"], doc["messages"][0]
    c.eq("messages[0] is the options form", msg["kind"], "options")
    x = ET.fromstring(msg["xml"])
    c.eq("options form is <x xmlns='jabber:x:data' type='form'>", (x.tag, x.get("type")),
         (NS_DATA + "x", "form"))
    f = form_fields(x)
    n_a = unhex(alice["nonce"])
    c.eq("options my_nonce = N_A", b64d(one(f, "my_nonce")), n_a)
    groups = [int(g) for g in f["modp"]]
    c.eq("alice holds an x for each offered group", sorted(groups), sorted(int(g) for g in alice["dh"]))
    es = {}
    for g in groups:
        x_g = int(alice["dh"][str(g)]["x"], 16)
        es[g] = mpi(pow(2, x_g, modp_prime(g)))
        c.eq(f"alice e for group {g} = 2^x mod p", es[g], unhex(alice["dh"][str(g)]["e"]))
    c.eq("options dhkeys = b64(mpi(e_i)) in modp order (D47)",
         [b64d(v) for v in f["dhkeys"]], [es[g] for g in groups])
    for absent in ("accept", "init_pubkey", "resp_pubkey", "sas_algs", "dhhashes"):
        c.eq(f"options form has no {absent} (D47)", absent in f, False)
    c.eq("options stanzas exclude iq (D47)", "iq" in f.get("stanzas", []), False)
    c.eq("options expires", one(f, "expires"), alice["expires"])
    c.eq("messages[0].expires", msg["expires"], alice["expires"])
    c.eq("options match_resource", f.get("match_resource", [None])[0], alice["match_resource"])
    vars_in_order = [fl.get("var") for fl in x.findall(f"{NS_DATA}field")]
    c.eq("signs is the last field (D47)", vars_in_order[-1], "signs")

    form_options = form_content(x, ("signs",))
    if "derived" in doc:
        c.eq("form_options (D16, D17, D48)", form_options, doc["derived"]["form_options"].encode())
    priv, _ = signing_key(alice, "alice", c)
    sig = priv.sign(form_options, padding.PKCS1v15(), hashes.SHA256())
    c.eq("signs = RSASSA-PKCS1-v1_5-SHA256(form_options) (D48)", [b64d(v) for v in f["signs"]], [sig])
    c.eq("messages[0].signs", [unhex(s) for s in msg["signs"]], [sig])
    c.true("alice's signature verifies with her public key",
           verifies(priv.public_key(), b64d(f["signs"][0]), form_options))
    return f, n_a, es, form_options


def derive(doc: dict, c: Checker) -> None:
    if doc.get("mode") != "offline" or doc.get("profile") != "xep":
        c.failures.append(f"unsupported profile/mode {doc.get('profile')}/{doc.get('mode')}")
        return
    alice, bob = doc["alice"], doc["bob"]
    offered, n_a, es, _ = check_options(doc, c)

    # Bob's offline init (XEP-0187 §3.3, D49).
    msg = doc["messages"][1]
    c.eq("messages[1] is the offline init", msg["kind"], "offline-init")
    stanza = ET.fromstring(msg["xml"])
    init = stanza.find(NS_INIT + "init")
    if init is None:
        raise ValueError("no <init/>")
    x = init.find(NS_DATA + "x")
    if x is None:
        raise ValueError("no form in <init/>")
    c.eq("init form type (D49)", x.get("type"), "submit")
    f = form_fields(x)
    for absent in ("accept", "init_pubkey", "resp_pubkey", "expires", "match_resource", "signs"):
        c.eq(f"init form has no {absent} (D49)", absent in f, False)
    neg = doc["negotiated"]
    for var in ("modp", "crypt_algs", "hash_algs", "sign_algs", "compress", "ver", "rekey_freq"):
        chosen = one(f, var)
        c.eq(f"init {var} = negotiated", chosen, str(neg[var]))
        c.true(f"init {var} was offered", chosen in offered.get(var, []))
    c.eq("init stanzas = negotiated", f["stanzas"], neg["stanzas"])
    c.true("init stanzas were offered", set(f["stanzas"]) <= set(offered["stanzas"]))
    c.eq("init terminate field", "terminate" in f and one(f, "terminate") in ("1", "true"), neg["terminate"])
    c.eq("init nonce echoes N_A", b64d(one(f, "nonce")), n_a)
    n_b = unhex(bob["nonce"])
    c.eq("init my_nonce = N_B", b64d(one(f, "my_nonce")), n_b)
    group = int(one(f, "modp"))
    p = modp_prime(group)
    y = int(bob["y"], 16)
    d = b64d(one(f, "dhkeys"))
    c.eq("init dhkeys = mpi(2^y mod p)", d, mpi(pow(2, y, p)))
    c.eq("bob d", d, unhex(bob["d"]))
    c_a = int.from_bytes(b64d(one(f, "counter")), "big")
    c.eq("init counter = C_A", c_a, int(bob["counter_a"], 16))
    c_b = c_a ^ (1 << 127)  # D12
    rule = stanza.find(f"{NS_AMP}amp/{NS_AMP}rule")
    resource = alice["match_resource"]
    c.eq("AMP match-resource rule iff match_resource (XEP-0187 §3.3)",
         None if rule is None else dict(rule.attrib),
         None if resource is None else {"action": "error", "condition": "match-resource", "value": "exact"})
    c.eq("init addressed to Alice's bare or full JID",
         stanza.get("to"), alice["jid"].split("/")[0] + (f"/{resource}" if resource else ""))

    # The key schedule.
    H = hashfn(one(f, "hash_algs"))
    klen = KEY_LEN[one(f, "crypt_algs")]

    def hm(key: bytes, *parts: bytes) -> bytes:
        return hmac.new(key, b"".join(parts), H).digest()

    e = es[group]
    x_a = int(alice["dh"][str(group)]["x"], 16)
    dv, ev = int.from_bytes(d, "big"), int.from_bytes(e, "big")
    c.true("1 < d < p-1 and 1 < e < p-1 (D7)", 1 < dv < p - 1 and 1 < ev < p - 1)
    shared = pow(ev, y, p)
    c.eq("d^x = e^y", pow(dv, x_a, p), shared)
    k = H(mpi(shared)).digest()  # D49: no SRS, no OSS
    keys = {f"{kind}{side}": hm(k, f"{who} {label}".encode())
            for side, who in (("A", "Initiator"), ("B", "Responder"))
            for kind, label in (("KC", "Cipher Key"), ("KM", "MAC Key"), ("KS", "SIGMA Key"))}
    for side in "AB":
        keys[f"KC{side}"] = keys[f"KC{side}"][-klen:]  # D10

    priv_b, pub_b = signing_key(bob, "bob", c)
    form_b = form_content(x, ("identity", "mac"))
    mac_b = hm(keys["KSB"], n_a, n_b, d, pub_b, form_b)
    sign_b = priv_b.sign(mac_b, padding.PKCS1v15(), hashes.SHA256())  # D31, deterministic
    plain_id = pub_b + b"<SignatureValue>" + base64.b64encode(sign_b) + b"</SignatureValue>"
    id_b = aes_ctr(keys["KCB"], c_b, plain_id)
    m_b = hm(keys["KMB"], mpi(c_b), id_b)
    got_id, got_mac = b64d(one(f, "identity")), b64d(one(f, "mac"))
    c.eq("init identity = ID_B", got_id, id_b)

    rec = doc.get("derived")
    if rec is not None:
        c.eq("counter_b", c_b, int(rec["counter_b"], 16))
        c.eq("shared_secret", mpi(shared), unhex(rec["shared_secret"]))
        c.eq("k_dh", k, unhex(rec["k_dh"]))
        for name, value in keys.items():
            c.eq(name, value, unhex(rec["keys"][name]))
        c.eq("form_b (D16, D17)", form_b, rec["form_b"].encode())
        c.eq("mac_b", mac_b, unhex(rec["mac_b"]))
        c.eq("sign_b", sign_b, unhex(rec["sign_b"]))
        c.eq("identity_plaintext", plain_id, rec["identity_plaintext"].encode())
        c.eq("id_b", id_b, unhex(rec["id_b"]))
        c.eq("m_b", m_b, unhex(rec["m_b"]))

    # Alice's side: M_B before deciphering, then the identity (XEP-0116 §4.6.2, D29).
    now, expires = when(doc["now"]), when(alice["expires"])
    error = doc.get("expect_error")
    if error == "bad-identity-mac":
        c.true("the forged M_B does not verify", not hmac.compare_digest(hm(keys["KMB"], mpi(c_b), got_id), got_mac))
        sent, honest = one(f, "mac"), b64e(m_b)
        c.eq("the forged M_B differs from the true one in one Base64 character",
             (len(sent) == len(honest), sum(a != b for a, b in zip(sent, honest))), (True, 1))
        c.true("before expiry", now < expires)
        return
    c.eq("init mac = M_B", got_mac, m_b)
    c.true("M_B verifies over the received ID_B", hmac.compare_digest(hm(keys["KMB"], mpi(c_b), got_id), got_mac))
    deciphered = aes_ctr(keys["KCB"], c_b, got_id)
    end = deciphered.find(b"</KeyValue>") + len(b"</KeyValue>")
    kv, rest = deciphered[:end], deciphered[end:]
    c.eq("ID_B deciphers to pubKeyB", kv, pub_b)
    c.true("then exactly one <SignatureValue/> (D29)",
           rest.startswith(b"<SignatureValue>") and rest.endswith(b"</SignatureValue>"))
    sig = b64d(rest[len(b"<SignatureValue>"):-len(b"</SignatureValue>")].decode())
    c.true("signB verifies over macB with the key in pubKeyB", verifies(key_from_key_value(kv), sig, mac_b))
    c.true("signB does not verify over another macB",
           not verifies(key_from_key_value(kv), sig, hm(keys["KSB"], n_b, n_a, d, pub_b, form_b)))
    if error == "expired":
        c.true("arrives at or after expiry (D50)", now >= expires)
        return
    if error is not None:
        c.failures.append(f"unknown expect_error {error!r}")
        return
    c.true("arrives before expiry (D50)", now < expires)

    # The XEP-0200 content Bob sent (the first stanza is the init itself).
    counter = c_b + nblocks(len(id_b))
    thread = stanza.findtext("{jabber:client}thread")
    stanzas = doc.get("stanzas", [])
    c.true("at least the init carries content", len(stanzas) >= 1)
    for i, st in enumerate(stanzas):
        c.eq(f"stanza {i} from bob (D49: Alice sends nothing)", st["from"], "bob")
        root = ET.fromstring(st["xml"])
        if i == 0:
            c.eq("stanza 0 is the init", st["xml"], msg["xml"])
        c.eq(f"stanza {i} thread", root.findtext("{jabber:client}thread"), thread)
        cel = root.find(NS_C + "c")
        if cel is None:
            c.failures.append(f"stanza {i}: no <c/>")
            continue
        content = m_content(cel)
        c.eq(f"stanza {i} m_content (D39)", content, st["m_content"])
        data = b64d(cel.findtext(NS_C + "data") or "")
        c.eq(f"stanza {i} data", data, unhex(st["data"]))
        before = counter % 2**128
        c.eq(f"stanza {i} counter_before", before, int(st["counter_before"], 16))
        mac = b64d(cel.findtext(NS_C + "mac") or "")
        c.eq(f"stanza {i} a_mac = HMAC(KM_B, m_content|mpi(C)) (D40)", mac,
             hm(keys["KMB"], content.encode(), mpi(before)))
        c.eq(f"stanza {i} mac", mac, unhex(st["mac"]))
        plain = aes_ctr(keys["KCB"], before, data)
        c.eq(f"stanza {i} plaintext", plain.decode("utf-8"), st["plaintext"])
        ET.fromstring(b"<w xmlns='jabber:client'>" + plain + b"</w>")  # D38: m parses
        counter = before + nblocks(len(data))
        c.eq(f"stanza {i} counter_after", counter % 2**128, int(st["counter_after"], 16))


if __name__ == "__main__":
    sys.exit(run("offline", derive, lambda doc: f" ({doc.get('expect_error', 'session')})"))
