#!/usr/bin/env python3
"""Converts the recorded Gajim sessions into vectors/sigma/gajim-session-{1,2}.json.

Usage (from the repository root, with ../shared beside it):

    python3 vectors/tools/import_gajim_sigma.py [--shared ../shared] [--out vectors/sigma] [--suffix -new]

Input: shared/interop/gajim/vectors.json, the flattened record of a Gajim 0.15.4 <-> Gajim
0.15.4 run (seed `gajim-esession-interop-v1`, see shared/interop/gajim/GAJIM.md). No value is
computed here: every value is copied, renamed into the esession-transcript/1 field names of
shared/vectors/TRANSCRIPT-SCHEMA.md, and base64 fields are turned into lowercase hex.

What the recording tells us beyond the values themselves (GAJIM.md §2):
* session 1: Alice holds no retained secret, so rshashes is exactly one random value (G6);
  Bob finds no SRS, so srshash is 32 random bytes; OSS is never used.
* session 2: both hold session 1's new retained secret; rshashes holds only its hash (G6),
  and srshash = HMAC(SRS, "Shared Retained Secret").

Python 3 standard library only.
"""

from __future__ import annotations

import argparse
import base64
import json
import pathlib

ALICE_JID = "alice@example.org/pda"
BOB_JID = "bob@example.com/laptop"


def b64hex(s: str) -> str:
    return base64.b64decode(s, validate=True).hex()


def convert(s: dict, index: int, prev_new_rs: str | None, meta: dict) -> dict:
    has_srs = s["SRS"] != ""
    alice_rs = [prev_new_rs] if prev_new_rs else []
    rshashes = s["rshashes"]
    # G6: Gajim adds one random value only when it holds no secret.
    rshashes_random = [] if alice_rs else list(rshashes)
    stanzas = []
    for m in s["messages"]:
        stanzas.append(
            {
                "from": m["from"],
                "plaintext": m["plaintext_padded"],
                "counter_before": m["counter_before"],
                "counter_after": m["counter_after"],
                "data": b64hex(m["data_b64"]),
                "m_content": m["m_content"],
                "mac": b64hex(m["mac_b64"]),
                "xml": m["wire"],
            }
        )
    fk = s["final_keys"]
    pk = s["provisional_initiator_keys"]
    kinds = ["request", "response", "accept", "accept"]
    return {
        "schema": "esession-transcript/1",
        "name": f"Gajim 0.15.4 <-> Gajim 0.15.4, {s['label']}",
        "source": (
            "recorded from Gajim 0.15.4 (commit "
            f"{meta['gajim_commit']}): shared/interop/gajim/vectors.json sessions[{index}], "
            "converted by vectors/tools/import_gajim_sigma.py"
        ),
        "profile": "gajim",
        "mode": "4-message",
        "alice": {
            "jid": ALICE_JID,
            "nonce": s["N_A"],
            "dh": {
                g: {"x": s["x_alice_by_group"][g], "e": s["e_alice_by_group"][g]}
                for g in s["x_alice_by_group"]
            },
            "retained_secrets": alice_rs,
            "rshashes_random": rshashes_random,
            "oss": None,
            "sign_key": None,
        },
        "bob": {
            "jid": BOB_JID,
            "nonce": s["N_B"],
            "y": s["y_bob"],
            "d": s["d_bob"],
            "counter_a": s["C_A"],
            "retained_secrets": alice_rs,
            "srshash_random": None if has_srs else s["srshash"],
            "oss": None,
            "sign_key": None,
        },
        "negotiated": {
            "modp": s["modp_group"],
            "crypt_algs": "aes128-ctr",
            "hash_algs": "sha256",
            "sign_algs": "http://www.w3.org/2000/09/xmldsig#rsa-sha256",
            "compress": "none",
            "sas_algs": "sas28x5",
            "init_pubkey": "none",
            "resp_pubkey": "none",
            "ver": "1.0",
            "rekey_freq": 4294967295,
            "stanzas": ["message"],
        },
        "messages": [
            {"n": n + 1, "from": "alice" if n % 2 == 0 else "bob", "kind": kinds[n], "xml": s["wire"][f"msg{n + 1}"]}
            for n in range(4)
        ],
        "derived": {
            "k_dh": s["K_dh"],
            "provisional_keys": {"KCA": pk["KC"], "KMA": pk["KM"], "KSA": pk["KS"]},
            "counter_b": s["C_B"],
            "rshashes": rshashes,
            "srs": s["SRS"] if has_srs else None,
            "k_final": s["K_final"],
            "keys": {
                "KCA": fk["KC_A"],
                "KMA": fk["KM_A"],
                "KSA": fk["KS_A"],
                "KCB": fk["KC_B"],
                "KMB": fk["KM_B"],
                "KSB": fk["KS_B"],
            },
            "form_a": s["formA"],
            "form_a2": s["formA2"],
            "form_b": s["formB"],
            "form_b2": s["formB2"],
            "mac_a": s["macA"],
            "id_a": s["ID_A"],
            "m_a": s["M_A"],
            "mac_b": s["macB"],
            "id_b": s["ID_B"],
            "m_b": s["M_B"],
            "srshash": s["srshash"],
            "sas": s["SAS"],
            "new_retained_secret": s["new_retained_secret"],
        },
        "stanzas": stanzas,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--shared", default="../shared")
    ap.add_argument("--out", default="vectors/sigma")
    ap.add_argument("--suffix", default="")
    a = ap.parse_args()
    src = json.loads((pathlib.Path(a.shared) / "interop/gajim/vectors.json").read_text())
    out = pathlib.Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    prev = None
    for i, s in enumerate(src["sessions"]):
        doc = convert(s, i, prev, src)
        prev = s["new_retained_secret"]
        path = out / f"gajim-session-{i + 1}{a.suffix}.json"
        path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
        print(f"wrote {path}")


if __name__ == "__main__":
    main()
