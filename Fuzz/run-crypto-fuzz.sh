#!/usr/bin/env bash
# Builds and runs the libFuzzer target for the Crypto module's DER/PEM/CMS entry points.
# Usage: Fuzz/run-crypto-fuzz.sh [RUNS] [extra libFuzzer flags...]   (RUNS defaults to 1000000)
# A throw-away PKI (Certs/ scripts) is made in a temp directory and removed afterwards;
# the corpus and any crash files go to fuzz-out/crypto/ (git-ignored).
set -euo pipefail
cd "$(dirname "$0")/.."
RUNS="${1:-1000000}"; shift || true
OUT="fuzz-out/crypto"; mkdir -p "$OUT/corpus" "$OUT/artifacts"
PKI="$(mktemp -d)"; trap 'rm -rf "$PKI"' EXIT

Certs/make-root.sh --root "$PKI/root" >/dev/null
Certs/issue-party.sh KZ "$PKI/kz" --root "$PKI/root" >/dev/null
Certs/issue-party.sh RU "$PKI/ru" --root "$PKI/root" >/dev/null

# Seeds: one valid object for each entry point, prefixed with its selector byte
# (0 certificate, 1 CRL, 2 inspect, 3 CMS verify, 4 CMS open; see main.swift).
seed="fedtrace fuzz seed"
printf '%s' "$seed" > "$PKI/content"
S="$PKI/seeds"; mkdir -p "$S"
openssl x509 -in "$PKI/kz/signing.pem" -outform DER -out "$S/cert.der"
openssl crl -in "$PKI/root/crl.pem" -outform DER -out "$S/crl.der"
openssl cms -sign -binary -nodetach -in "$PKI/content" -signer "$PKI/ru/signing.pem" -inkey "$PKI/ru/signing.key" -outform DER -out "$S/signed.der"
openssl cms -sign -binary -in "$PKI/content" -signer "$PKI/ru/signing.pem" -inkey "$PKI/ru/signing.key" -outform DER -out "$S/detached.der"
openssl cms -encrypt -binary -aes-256-gcm -in "$S/signed.der" -recip "$PKI/kz/sealing.pem" -keyopt ecdh_kdf_md:sha256 -outform DER -out "$S/sealed.der"
openssl cms -encrypt -binary -aes-256-cbc -in "$PKI/content" -recip "$PKI/kz/sealing.pem" -outform DER -out "$S/enveloped.der"
seed_with() { { printf "\\x$1"; cat "$2"; } > "$OUT/corpus/$1-$(basename "$2")"; }
seed_with 00 "$S/cert.der"; seed_with 00 "$PKI/kz/signing.pem"; seed_with 01 "$S/crl.der"; seed_with 01 "$PKI/root/crl.pem"
seed_with 02 "$S/signed.der"; seed_with 02 "$S/sealed.der"; seed_with 03 "$S/signed.der"; seed_with 03 "$S/detached.der"
seed_with 04 "$S/sealed.der"; seed_with 04 "$S/enveloped.der"

BIN="$OUT/crypto-fuzz"
source Fuzz/lib.sh
build_module Core Sources/Core/*.swift
swiftc "${FUZZ_FLAGS[@]}" -module-name CryptoFuzz Sources/Crypto/*.swift Fuzz/CryptoFuzz/main.swift \
    -L "$FUZZ_BUILD" -lCore -lssl -lcrypto -o "$BIN"

FEDTRACE_FUZZ_PKI="$PKI/kz" "$BIN" -runs="$RUNS" -max_len=8192 -artifact_prefix="$OUT/artifacts/" -print_final_stats=1 "$@" "$OUT/corpus"
