#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the stored form of raw event bytes
# (PackedEvent / Core.LZ; see docs/fuzzing.md).
# Usage: Fuzz/run-pack-fuzz.sh [RUNS]   (default 1,000,000 executions; extra libFuzzer
# flags may follow). Findings are written to Fuzz/PackFuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
source Fuzz/lib.sh
fuzz_workspace PackFuzz

build_model
swiftc "${FUZZ_FLAGS[@]}" -module-name PackFuzz Fuzz/PackFuzz/main.swift \
    -L "$FUZZ_BUILD" -lModel -lCrypto -lCore -lssl -lcrypto -o "$FUZZ_BUILD/pack-fuzz"

"$FUZZ_BUILD/pack-fuzz" -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/PackFuzz/findings/ "$@" "$work" Fuzz/PackFuzz/corpus
