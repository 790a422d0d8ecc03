#!/usr/bin/env bash
# Creates the federation root CA, operated by the Convention Secretariat.
# Usage: make-root.sh [--root DIR] [--days N] [--start YYYYMMDDHHMMSSZ] [--name "Common Name"] [--crl-days N]
# Set FCTC_ROOT_PASS to encrypt the root key (AES-256); the other scripts then read it too.
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
ROOT="$(root_dir_default)"; DAYS=3650; START=""; NAME="FCTC Protocol federation root"; CRL_DAYS=30
while [ $# -gt 0 ]; do
    case "$1" in
        --root) ROOT="$2"; shift 2 ;;
        --days) DAYS="$2"; shift 2 ;;
        --start) START="$2"; shift 2 ;;
        --name) NAME="$2"; shift 2 ;;
        --crl-days) CRL_DAYS="$2"; shift 2 ;;
        -h|--help) usage; exit 0 ;;
        *) die "unknown argument $1" ;;
    esac
done
[ -e "$ROOT/root.pem" ] && die "$ROOT/root.pem already exists; refusing to overwrite a root"

mkdir -p "$ROOT/private" "$ROOT/newcerts"
chmod 0700 "$ROOT/private"
: > "$ROOT/index.txt"
echo "unique_subject = no" > "$ROOT/index.txt.attr"   # rotation issues a second certificate with the same subject
openssl rand -hex 16 > "$ROOT/serial"
echo 1000 > "$ROOT/crlnumber"

cat > "$ROOT/openssl.cnf" <<CNF
# Written by make-root.sh. openssl ca reads it for issuing, revoking and CRLs.
[ ca ]
default_ca = fctc_root

[ fctc_root ]
dir              = $(cd "$ROOT" && pwd)
database         = \$dir/index.txt
new_certs_dir    = \$dir/newcerts
certificate      = \$dir/root.pem
private_key      = \$dir/private/root.key
serial           = \$dir/serial
crlnumber        = \$dir/crlnumber
default_md       = sha256
default_crl_days = $CRL_DAYS
policy           = policy_any
copy_extensions  = none
email_in_dn      = no

[ policy_any ]
organizationName       = supplied
organizationalUnitName = optional
commonName             = supplied

[ req ]
distinguished_name = dn
[ dn ]

[ v3_root ]
basicConstraints       = critical, CA:TRUE, pathlen:0
keyUsage               = critical, keyCertSign, cRLSign
subjectKeyIdentifier   = hash

# Transport: TLS 1.3 client and server authentication between nodes.
[ v3_transport ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature
extendedKeyUsage       = serverAuth, clientAuth
subjectAltName         = \${ENV::FCTC_SAN}
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Signing: CMS SignedData over deltas, receipts, agreements and directory entries.
# emailProtection is the signing-purpose marker: it is what "openssl cms -verify" checks by default.
[ v3_signing ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, digitalSignature, nonRepudiation
extendedKeyUsage       = emailProtection
subjectAltName         = \${ENV::FCTC_SAN}
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid

# Sealing: ECDH key agreement for CMS (Auth)EnvelopedData. No digitalSignature: it cannot sign.
[ v3_sealing ]
basicConstraints       = critical, CA:FALSE
keyUsage               = critical, keyAgreement
extendedKeyUsage       = emailProtection
subjectAltName         = \${ENV::FCTC_SAN}
subjectKeyIdentifier   = hash
authorityKeyIdentifier = keyid
CNF

cipher=()
if [ -n "${FCTC_ROOT_PASS:-}" ]; then cipher=(-aes-256-cbc -pass env:FCTC_ROOT_PASS); fi
openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve \
    "${cipher[@]}" -out "$ROOT/private/root.key" 2>/dev/null || die "cannot generate the root key"
chmod 0600 "$ROOT/private/root.key"
# openssl ca -selfsign (not req -x509) so --start can back-date the root (OpenSSL 3.0's req
# has no -not_before); tests need a root older than the "old" certificates they rotate from.
# shellcheck disable=SC2046
openssl req -new -config "$ROOT/openssl.cnf" -key "$ROOT/private/root.key" $(root_pass_args) \
    -subj "/O=FCTC Protocol federation/CN=$NAME" -out "$ROOT/root.csr" || die "cannot make the root request"
# shellcheck disable=SC2046
openssl ca -batch -selfsign -notext -config "$ROOT/openssl.cnf" -keyfile "$ROOT/private/root.key" $(root_pass_args) \
    -extensions v3_root -days "$DAYS" ${START:+-startdate "$START"} -in "$ROOT/root.csr" -out "$ROOT/root.pem" 2>"$ROOT/.root.log" \
    || { cat "$ROOT/.root.log" >&2; die "cannot self-sign the root"; }
rm -f "$ROOT/root.csr" "$ROOT/.root.log"
chmod 0644 "$ROOT/root.pem"
"$FCTC_SCRIPTS/publish-crl.sh" --root "$ROOT" >/dev/null
echo "federation root created in $ROOT (certificate $ROOT/root.pem, empty CRL $ROOT/crl.pem)"
