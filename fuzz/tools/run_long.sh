#!/usr/bin/env bash
# Runs each fuzz target in turn for a fixed time, one process at a time, under
# nice 19 (the machine is shared). A crash does not end the target's time:
# libFuzzer is restarted for what is left, so every target gets its seconds.
# Each libFuzzer process runs under /usr/bin/time, which appends its user and
# system CPU seconds to LOGDIR/<target>.cpu ("cpu USER SYS WALL"), so a run
# reports the CPU it really got, not only its wall-clock budget.
# Two invocations with different targets can run side by side on 2 cores.
# Usage (from fuzz/): tools/run_long.sh LOGDIR target:seconds [target:seconds ...]
set -u
LOGDIR=$1; shift
mkdir -p "$LOGDIR"
BIN=target/x86_64-unknown-linux-gnu/release
for spec in "$@"; do
  t=${spec%%:*}; secs=${spec##*:}
  for try in 1 2 3 4 5; do
    nice -n 19 cargo +nightly fuzz build "$t" >>"$LOGDIR/$t.build.log" 2>&1 && break
    sleep 30
  done
  mkdir -p "corpus/$t" "artifacts/$t"
  start=$(date +%s); seg=0
  while :; do
    left=$(( secs - ($(date +%s) - start) ))
    [ "$left" -le 5 ] && break
    seg=$((seg+1))
    echo "=== $t segment $seg: $left s left, $(date -u +%FT%TZ)" >>"$LOGDIR/$t.log"
    /usr/bin/time -a -o "$LOGDIR/$t.cpu" -f "cpu %U %S %e" \
      nice -n 19 "$BIN/$t" -max_total_time="$left" -rss_limit_mb=2048 -timeout=30 \
      -max_len="${MAXLEN:-16384}" -print_final_stats=1 \
      -artifact_prefix="artifacts/$t/" "corpus/$t" "seeds/$t" >>"$LOGDIR/$t.log" 2>&1
    echo "=== $t segment $seg exit $?" >>"$LOGDIR/$t.log"
  done
  echo "=== $t done after $(( $(date +%s) - start )) s" >>"$LOGDIR/$t.log"
done
echo "ALL DONE: $*" >>"$LOGDIR/summary.log"
