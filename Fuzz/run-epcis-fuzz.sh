#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the EPCIS capture parser (see docs/fuzzing.md).
# Usage: Fuzz/run-epcis-fuzz.sh [RUNS]   (default 1,000,000 executions; extra libFuzzer
# flags may follow). Findings are written to Fuzz/EPCISFuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
source Fuzz/lib.sh
fuzz_workspace EPCISFuzz
# The GS1 examples beside the repository make good seeds when they are there.
if [ -d ../shared/testdata/epcis-gs1 ]; then cp ../shared/testdata/epcis-gs1/*.jsonld "$work"/; fi

# The modules the parser needs, each instrumented: Core, Crypto (SHA-256), Model.
build_model
swiftc "${FUZZ_FLAGS[@]}" -module-name EPCISFuzz Fuzz/EPCISFuzz/main.swift \
    -L "$FUZZ_BUILD" -lModel -lCrypto -lCore -lssl -lcrypto -o "$FUZZ_BUILD/epcis-fuzz"

"$FUZZ_BUILD/epcis-fuzz" -runs="$runs" -max_len=16384 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -dict=Fuzz/EPCISFuzz/epcis.dict -artifact_prefix=Fuzz/EPCISFuzz/findings/ "$@" "$work" Fuzz/EPCISFuzz/corpus
