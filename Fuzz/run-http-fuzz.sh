#!/usr/bin/env bash
# Builds and runs the libFuzzer target for Net's HTTP parsers (see docs/fuzzing.md).
# Usage: Fuzz/run-http-fuzz.sh [RUNS]   (default 1,000,000 executions; extra libFuzzer
# flags may follow, e.g. -jobs=2). Findings are written to Fuzz/HTTPFuzz/findings/.
set -euo pipefail
cd "$(dirname "$0")/.."
runs="${1:-1000000}"
shift || true
out=.build/fuzz
mkdir -p "$out" Fuzz/HTTPFuzz/findings
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
cp Fuzz/HTTPFuzz/corpus/* "$work"/

# Only the pure parser sources: no OpenSSL, no sockets, no event loop.
swiftc -sanitize=fuzzer,address -parse-as-library -O -g \
    -module-name HTTPFuzz \
    Fuzz/HTTPFuzz/main.swift \
    Sources/Net/HTTPMessage.swift Sources/Net/HTTPLimits.swift Sources/Net/HTTPParseError.swift \
    Sources/Net/HTTPMessageParser.swift Sources/Net/HTTPRequestParser.swift \
    Sources/Net/HTTPResponseParser.swift Sources/Net/HTTPSerializer.swift \
    -o "$out/http-fuzz"

"$out/http-fuzz" -runs="$runs" -max_len=8192 -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix=Fuzz/HTTPFuzz/findings/ "$@" "$work" Fuzz/HTTPFuzz/corpus
