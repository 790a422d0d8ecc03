#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the UIM index's block reader (see docs/fuzzing.md).
# Usage: Fuzz/run-store-fuzz.sh [RUNS]   (default 1,000,000 executions; extra libFuzzer
# flags may follow). Findings are written to Fuzz/StoreFuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
source Fuzz/lib.sh
fuzz_workspace StoreFuzz

# The modules Store needs, each instrumented; Store compiled for testing (@testable import).
build_model
FUZZ_FLAGS+=(-I Sources/CSQLite)
build_module Store -enable-testing $(find Sources/Store -name '*.swift')
swiftc "${FUZZ_FLAGS[@]}" -module-name StoreFuzz Fuzz/StoreFuzz/main.swift \
    -L "$FUZZ_BUILD" -lStore -lModel -lCrypto -lCore -lsqlite3 -lssl -lcrypto -o "$FUZZ_BUILD/store-fuzz"

"$FUZZ_BUILD/store-fuzz" -runs="$runs" -max_len=4096 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/StoreFuzz/findings/ "$@" "$work" Fuzz/StoreFuzz/corpus
