#!/usr/bin/env bash
# Minimizes every corpus (what `cargo +nightly fuzz cmin <target>` does, with the
# built binaries), then keeps at most 200 files per target (the smallest).
# Run from fuzz/ after a build.
set -eu
BIN=target/x86_64-unknown-linux-gnu/release
for t in "$@"; do
  [ -d "corpus/$t" ] || continue
  tmp=$(mktemp -d)
  nice -n 19 "$BIN/$t" -merge=1 -rss_limit_mb=2048 -max_len=16384 -timeout=30 "$tmp" "corpus/$t" >"/tmp/cmin-$t.log" 2>&1
  n=$(ls "$tmp" | wc -l)
  if [ "$n" -gt 200 ]; then
    ls -S -r "$tmp" | tail -n +201 | while read -r f; do rm -f "$tmp/$f"; done
  fi
  rm -rf "corpus/$t"; mv "$tmp" "corpus/$t"; chmod 755 "corpus/$t"
  echo "$t: $n after cmin, $(ls corpus/$t | wc -l) kept, $(du -sk corpus/$t | cut -f1) KiB"
done
