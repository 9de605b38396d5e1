#!/usr/bin/env bash
# Runs the main crate's fuzz targets for SECONDS (default 600) each; prints libFuzzer's final
# stats. `automerge_load` fuzzes Automerge itself and is expected to find crashes (they become
# regression inputs in tests/fixtures/automerge-crashers/); `chunk_payload` must never crash.
# Needs: the rustup nightly toolchain and `cargo install cargo-fuzz --locked`.
# Usage: fuzz/run.sh [SECONDS] [TARGET...]
set -uo pipefail
cd "$(dirname "$0")"
secs=${1:-600}
shift || true
targets=("$@")
[ ${#targets[@]} -gt 0 ] || targets=(chunk_payload membership_op bundle sync_msg invite access_log)
cargo run -q --bin seed_corpus || exit 1
status=0
for t in "${targets[@]}"; do
  echo "== $t: ${secs}s (full log: fuzz/fuzz-$t.log)"
  cargo +nightly fuzz run -O "$t" "corpus/$t" -- -max_total_time="$secs" -print_final_stats=1 \
    -rss_limit_mb=2048 > "fuzz-$t.log" 2>&1
  rc=$?
  grep -E '^stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)|Done [0-9]+ runs' "fuzz-$t.log"
  if [ $rc -ne 0 ] || ls "artifacts/$t"/crash-* >/dev/null 2>&1; then
    echo "!! $t: CRASH (exit $rc), see fuzz/fuzz-$t.log and artifacts/$t/"
    status=1
  else
    echo "   $t: no crashes"
  fi
done
exit $status
