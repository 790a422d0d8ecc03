#!/usr/bin/env bash
# Signs a fresh CRL with the root and writes it to ROOTDIR/crl.pem (and --out FILE if given).
# Usage: publish-crl.sh [--root DIR] [--out FILE]
# Copy the result to every Party as crl.pem in its certificate folder (or serve it from the hub).
source "$(dirname "$0")/lib.sh"

ROOT="$(root_dir_default)"; OUT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --out) OUT="$2"; shift 2 ;;
        -h|--help) sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done
require_root "$ROOT"
# shellcheck disable=SC2046
openssl ca -batch -config "$ROOT/openssl.cnf" $(root_pass_args) -gencrl -out "$ROOT/crl.pem.new" 2>"$ROOT/.crl.log" \
    || { cat "$ROOT/.crl.log" >&2; die "cannot sign the CRL"; }
rm -f "$ROOT/.crl.log"
chmod 0644 "$ROOT/crl.pem.new"
mv "$ROOT/crl.pem.new" "$ROOT/crl.pem"
if [ -n "$OUT" ]; then cp "$ROOT/crl.pem" "$OUT"; chmod 0644 "$OUT"; fi
echo "CRL published: $ROOT/crl.pem${OUT:+ and $OUT}"
