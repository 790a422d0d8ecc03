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
