#!/usr/bin/env bash
# Builds the client of docs/integrating.md in a fresh crate whose Cargo.toml
# is exactly the guide's dependency list (§1) and whose main.rs is its code
# (§2): the guide must build from what it tells an integrator to write.
set -euo pipefail
repo="$(cd "$(dirname "$0")/.." && pwd)"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
# The guide's path dependency reads ../esession from the new crate.
ln -s "$repo" "$work/esession"
mkdir -p "$work/guide/src"
python3 - "$repo/docs/integrating.md" "$work/guide" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
toml = re.search(r"```toml\n(.*?)```", text, re.S).group(1)
code = re.search(r"```rust,no_run\n(.*?)```", text, re.S).group(1)
out = sys.argv[2]
with open(out + "/Cargo.toml", "w") as f:
    f.write('[package]\nname = "guide"\nversion = "0.1.0"\nedition = "2024"\npublish = false\n\n')
    f.write(toml)
    f.write("\n[workspace]\n")
with open(out + "/src/main.rs", "w") as f:
    f.write(code)
PY
# Start from the workspace's lock file so the same versions are used.
cp "$repo/Cargo.lock" "$work/guide/Cargo.lock"
cd "$work/guide"
CARGO_TARGET_DIR="$repo/target/guide" cargo build --quiet
echo "docs/integrating.md builds as a crate of its own ($(grep -c '' src/main.rs) lines)"
