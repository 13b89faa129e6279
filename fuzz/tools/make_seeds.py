#!/usr/bin/env python3
"""Writes fuzz/seeds/<target>/ from real messages: vectors/online,
vectors/offline and the recorded Gajim session (vectors/interop/gajim).

Run from the repository root: python3 fuzz/tools/make_seeds.py
The online_* and offline_alice seeds use the op encoding of
fuzz_targets/online_common.rs and fuzz_targets/offline_alice.rs.
"""
import glob, json, os, re, struct

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
SEEDS = os.path.join(ROOT, "fuzz", "seeds")
GAJIM = os.path.join(ROOT, "vectors", "interop", "gajim", "transcript.json")


def put(target, name, data):
    d = os.path.join(SEEDS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), "wb") as f:
        f.write(data)


def blob(b):
    if isinstance(b, str):
        b = b.encode()
    b = b[:0xFFFF]
    return struct.pack("<H", len(b)) + b


messages, stanzas, keyvalues, identities = [], [], [], []
for path in sorted(glob.glob(os.path.join(ROOT, "vectors", "online", "*.json")) +
                   glob.glob(os.path.join(ROOT, "vectors", "offline", "*.json"))):
    v = json.load(open(path))
    base = os.path.basename(path)[:-5]
    for m in v.get("messages", []):
        messages.append((f"{base}-m{m['n']}", m["xml"]))
    for i, s in enumerate(v.get("stanzas", [])):
        stanzas.append((f"{base}-s{i}", s["xml"]))
    for who in ("alice", "bob"):
        k = v.get(who, {}).get("sign_key")
        if k:
            keyvalues.append((f"{base}-{who}", k["key_value"]))
    ip = v.get("derived", {}).get("identity_plaintext")
    if ip:
        identities.append((f"{base}-id", ip if ip.startswith("<") else bytes.fromhex(ip)))
gajim = json.load(open(GAJIM))
for i, s in enumerate(gajim["stanzas"]):
    (messages if "<c " not in s["xml"] else stanzas).append((f"transcript-{i:02}", s["xml"]))

# The parser targets: the stanzas as they are.
for name, xml in messages:
    put("form_parser", name + ".xml", xml)
for name, xml in stanzas:
    put("c_parser", name + ".xml", xml)
for name, kv in keyvalues:
    put("keyvalue_parser", name + ".xml", kv)
for name, ident in identities:
    put("keyvalue_parser", name + ".bin", ident)

# base64: a bound byte, then every base64 text found in <value>, <data>, <mac>.
seen = set()
for name, xml in messages + stanzas:
    for j, t in enumerate(re.findall(r">([A-Za-z0-9+/=]{4,})<", xml)):
        if t in seen or len(seen) > 150:
            continue
        seen.add(t)
        put("base64", f"{name}-{j}", bytes([min(255, len(t))]) + t.encode())

# mpi: a group selector, then DH values, counters and key integers.
n = 0
for path in sorted(glob.glob(os.path.join(ROOT, "vectors", "online", "*.json"))):
    v = json.load(open(path))
    for who in ("alice", "bob"):
        side = v.get(who, {})
        for g, dv in side.get("dh", {}).items():
            put("mpi", f"{n:03}-e{g}", bytes([3 if g == "14" else 2]) + bytes.fromhex(dv["e"]))
            n += 1
        for k in ("d", "counter_a"):
            if isinstance(side.get(k), str):
                put("mpi", f"{n:03}-{k}", b"\x03" + bytes.fromhex(side[k]))
                n += 1

# online_alice / online_bob: flavor, seed, ops (online_common.rs).
FLOW, SUBJ, PEER, TIME, DELIVER, STAMPED, TOPEER = 11, 8, 9, 10, 0, 6, 7
SEND, REKEY, TERMINATE, CONFIRM, TRUST, ACCEPT = 2, 3, 5, 6, 7, 0


def cmd(who, op, body=b"hello"):
    return bytes([who, op]) + blob(body)


for flavor in range(12):
    for role in ("online_alice", "online_bob"):
        ops = bytes([FLOW])
        if role == "online_bob":
            ops += cmd(SUBJ, ACCEPT, b"") + bytes([FLOW])
        ops += bytes([FLOW]) + cmd(SUBJ, CONFIRM, b"") + cmd(SUBJ, TRUST, b"")
        ops += cmd(SUBJ, SEND) + bytes([TOPEER]) + cmd(PEER, SEND, b"hi there") + bytes([DELIVER])
        ops += cmd(SUBJ, SEND, b"\x01iq") + cmd(PEER, REKEY, b"") + bytes([FLOW])
        ops += cmd(SUBJ, REKEY, b"") + bytes([FLOW]) + cmd(PEER, SEND, b"after rekey") + bytes([FLOW])
        ops += cmd(SUBJ, TERMINATE, b"") + bytes([TOPEER, DELIVER, TIME]) + struct.pack("<H", 120)
        put(role, f"flavor{flavor}-session", bytes([flavor]) + struct.pack("<H", flavor) + ops)
        ops2 = bytes([FLOW]) + (cmd(SUBJ, ACCEPT, b"") if role == "online_bob" else b"")
        ops2 += bytes([FLOW]) + cmd(PEER, TERMINATE, b"") + bytes([DELIVER, 3, TIME]) + struct.pack("<H", 61)
        put(role, f"flavor{flavor}-peer-terminates", bytes([flavor]) + b"\x07\x00" + ops2)
# Real messages as arbitrary stanzas (op 5) and stamped into the session (op 6).
for i, (name, xml) in enumerate(messages + stanzas):
    if i % 2:
        continue
    for role in ("online_alice", "online_bob"):
        data = bytes([i % 12]) + b"\x01\x00" + bytes([FLOW, 5]) + blob(xml) + bytes([STAMPED]) + blob(xml)
        put(role, f"inject-{name}", data)

# offline_alice: audience, then ops (offline_alice.rs).
for aud in (0, 1):
    put("offline_alice", f"session-{aud}", bytes([aud, 0, 0, 4, 1, 4, 2, 4, 3, 5, 1]))
    put("offline_alice", f"object-{aud}", bytes([aud, 0, 4, 0, 4, 7, 0x40, 0x10, 0, 4]))
    put("offline_alice", f"bare-{aud}", bytes([aud, 0, 5, 4, 1, 0, 0]))
    put("offline_alice", f"mutated-{aud}", bytes([aud, 2, 0, 0, 5, 1, 0, 0x41, 0, 0, 4, 6, 1, 1, 9, 0, 2]))
for name, xml in messages + stanzas:
    if name.startswith(("xep-g", "fail-")):
        for aud in (0, 1):
            put("offline_alice", f"arbitrary-{name}-{aud}", bytes([aud, 3]) + blob(xml) + bytes([0, 0]))
print("seeds written to", SEEDS)
