# Shared helpers for the FedTrace federation PKI scripts. Sourced, never run directly.
# Everything here drives the openssl command line (OpenSSL 3.0 or later).
set -euo pipefail
umask 077   # every file we create (keys above all) starts private; certificates are chmod'ed 0644 explicitly

FCTC_SCRIPTS="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# openssl.cnf reads the identity from $FCTC_SAN; it must be set even when no leaf is issued.
export FCTC_SAN="${FCTC_SAN:-URI:urn:fctc:unset}"

die() { echo "$(basename "$0"): $*" >&2; exit 1; }

# The root CA directory: --root DIR, else $FCTC_ROOT_DIR, else ./federation-root.
root_dir_default() { echo "${FCTC_ROOT_DIR:-./federation-root}"; }

# openssl ca needs the root key's passphrase when make-root.sh was run with FCTC_ROOT_PASS set.
root_pass_args() {
    if [ -n "${FCTC_ROOT_PASS:-}" ]; then echo "-passin env:FCTC_ROOT_PASS"; fi
}

require_root() {
    local dir="$1"
    [ -f "$dir/root.pem" ] && [ -f "$dir/private/root.key" ] && [ -f "$dir/openssl.cnf" ] \
        || die "$dir is not a federation root directory (run make-root.sh first)"
}

# Validity options shared by the issuing scripts. Sets DAYS, START, END.
# --start/--end take YYYYMMDDHHMMSSZ (UTC); they let tests make expired or not-yet-valid certificates.
DAYS=365; START=""; END=""
validity_args() {
    local args="-days $DAYS"
    if [ -n "$START" ]; then args="$args -startdate $START"; fi
    if [ -n "$END" ]; then args="$args -enddate $END"; fi
    echo "$args"
}

# issue_one ROOTDIR URN KIND OUTDIR
# Makes OUTDIR/KIND.key (EC P-256, 0600), a CSR, and OUTDIR/KIND.pem signed by the root with
# the extension section v3_KIND of the root's openssl.cnf. The identity goes into the SAN URI.
issue_one() {
    local root="$1" urn="$2" kind="$3" out="$4"
    local key="$out/$kind.key" csr="$out/$kind.csr" cert="$out/$kind.pem"
    openssl genpkey -algorithm EC -pkeyopt ec_paramgen_curve:P-256 -pkeyopt ec_param_enc:named_curve -out "$key" 2>/dev/null \
        || die "cannot generate $key"
    chmod 0600 "$key"
    openssl req -new -key "$key" -out "$csr" -subj "/O=FCTC Protocol federation/OU=$kind/CN=$urn" \
        || die "cannot make the request $csr"
    # shellcheck disable=SC2046
    FCTC_SAN="URI:$urn" openssl ca -batch -notext -config "$root/openssl.cnf" $(root_pass_args) \
        -extensions "v3_$kind" $(validity_args) -in "$csr" -out "$cert" 2>"$out/.$kind.ca.log" \
        || { cat "$out/.$kind.ca.log" >&2; die "the root refused to sign $csr"; }
    rm -f "$csr" "$out/.$kind.ca.log"
    chmod 0644 "$cert"
}

# issue_folder ROOTDIR URN OUTDIR: the three certificates of one identity plus root.pem and crl.pem.
# Everything is made in a private staging directory first and moved into OUTDIR only when
# all of it succeeded, so a failure (e.g. a wrong root passphrase) leaves no half-issued folder.
issue_folder() {
    local root="$1" urn="$2" out="$3"
    mkdir -p "$out"
    FCTC_STAGING="$(mktemp -d "$out/.issuing.XXXXXX")"
    trap 'rm -rf "$FCTC_STAGING" ${FCTC_CLEANUP:+"$FCTC_CLEANUP"}' EXIT
    for kind in transport signing sealing; do
        issue_one "$root" "$urn" "$kind" "$FCTC_STAGING"
    done
    cp "$root/root.pem" "$FCTC_STAGING/root.pem"; chmod 0644 "$FCTC_STAGING/root.pem"
    if [ -f "$root/crl.pem" ]; then cp "$root/crl.pem" "$FCTC_STAGING/crl.pem"; chmod 0644 "$FCTC_STAGING/crl.pem"; fi
    mv -f "$FCTC_STAGING"/* "$out/"
    echo "issued $urn into $out"
}

# Parses the common options of issue-party.sh / issue-hub.sh / rotate.sh.
# Sets ROOT, DAYS, START, END and leaves the positional arguments in POSITIONAL.
parse_common() {
    ROOT="$(root_dir_default)"; POSITIONAL=()
    while [ $# -gt 0 ]; do
        case "$1" in
            --root) ROOT="$2"; shift 2 ;;
            --days) DAYS="$2"; shift 2 ;;
            --start) START="$2"; shift 2 ;;
            --end) END="$2"; shift 2 ;;
            -h|--help) usage; exit 0 ;;
            -*) die "unknown option $1" ;;
            *) POSITIONAL+=("$1"); shift ;;
        esac
    done
}
