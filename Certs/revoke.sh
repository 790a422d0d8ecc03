#!/usr/bin/env bash
# Revokes a certificate issued by the root and publishes a new CRL.
# Usage: revoke.sh CERT.pem [--root DIR] [--reason keyCompromise|superseded|cessationOfOperation|...]
source "$(dirname "$0")/lib.sh"

ROOT="$(root_dir_default)"; REASON="unspecified"; CERT=""
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --reason) REASON="$2"; shift 2 ;;
        -h|--help) sed -n '2,3p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
        -*) die "unknown option $1" ;;
        *) CERT="$1"; shift ;;
    esac
done
[ -n "$CERT" ] || die "which certificate? usage: revoke.sh CERT.pem [--root DIR] [--reason R]"
[ -r "$CERT" ] || die "$CERT: cannot read the certificate"
require_root "$ROOT"
# shellcheck disable=SC2046
openssl ca -batch -config "$ROOT/openssl.cnf" $(root_pass_args) -revoke "$CERT" -crl_reason "$REASON" 2>"$ROOT/.revoke.log" \
    || { cat "$ROOT/.revoke.log" >&2; die "cannot revoke $CERT"; }
rm -f "$ROOT/.revoke.log"
echo "revoked $(openssl x509 -in "$CERT" -noout -serial) ($REASON)"
"$FCTC_SCRIPTS/publish-crl.sh" --root "$ROOT"
