# Shared by the Fuzz/run-*-fuzz.sh scripts: builds FedTrace modules with the fuzzer and
# address sanitizer instrumentation into $FUZZ_BUILD, so a target links them like SwiftPM would.
FUZZ_BUILD=${FUZZ_BUILD:-.build/fuzz}
mkdir -p "$FUZZ_BUILD"
FUZZ_FLAGS=(-sanitize=fuzzer,address -parse-as-library -swift-version 6 -O -g -package-name FedTrace -I "$FUZZ_BUILD" -I Sources/COpenSSL)

# build_module NAME SOURCES...: a static library and its .swiftmodule.
build_module() {
    local name=$1; shift
    swiftc "${FUZZ_FLAGS[@]}" -emit-module -emit-module-path "$FUZZ_BUILD/$name.swiftmodule" -emit-library -static \
        -module-name "$name" -o "$FUZZ_BUILD/lib$name.a" "$@"
}

# fuzz_workspace NAME: Fuzz/NAME/findings exists, and $work is a fresh directory (removed
# when the script exits) seeded with Fuzz/NAME/corpus, for libFuzzer's new inputs.
fuzz_workspace() {
    mkdir -p "Fuzz/$1/findings"
    work=$(mktemp -d)
    trap 'rm -rf "$work"' EXIT
    cp "Fuzz/$1/corpus/"* "$work"/
}

# build_model: the instrumented modules up to the EPCIS model (Core, Crypto, Model).
build_model() {
    build_module Core Sources/Core/*.swift
    build_module Crypto $(find Sources/Crypto -name '*.swift')
    build_module Model $(find Sources/Model -name '*.swift')
}
