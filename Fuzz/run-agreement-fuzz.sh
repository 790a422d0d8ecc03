#!/usr/bin/env bash
# Builds and runs the libFuzzer target for sharing agreements: parser, JCS, lint
# (see docs/fuzzing.md). Usage: Fuzz/run-agreement-fuzz.sh [RUNS] [libFuzzer flags...]
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
source Fuzz/lib.sh
fuzz_workspace AgreementFuzz

build_model
build_module Policy $(find Sources/Policy -name '*.swift')
swiftc "${FUZZ_FLAGS[@]}" -module-name AgreementFuzz Fuzz/AgreementFuzz/main.swift \
    -L "$FUZZ_BUILD" -lPolicy -lModel -lCrypto -lCore -lssl -lcrypto -o "$FUZZ_BUILD/agreement-fuzz"

"$FUZZ_BUILD/agreement-fuzz" -runs="$runs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/AgreementFuzz/findings/ "$@" "$work" Fuzz/AgreementFuzz/corpus
