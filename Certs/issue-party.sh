#!/usr/bin/env bash
# Issues a Party's certificate folder: transport, signing and sealing certificates for
# urn:fctc:party:XX, plus root.pem and crl.pem.
# Usage: issue-party.sh XX OUTDIR [--root DIR] [--days N] [--start YYYYMMDDHHMMSSZ] [--end YYYYMMDDHHMMSSZ]
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
parse_common "$@"
[ ${#POSITIONAL[@]} -eq 2 ] || { usage >&2; exit 2; }
PARTY="${POSITIONAL[0]}"; OUTDIR="${POSITIONAL[1]}"
[[ "$PARTY" =~ ^[A-Z]{2}$ ]] || die "Party code '$PARTY' is not an ISO 3166-1 alpha-2 code (two capital letters)"
require_root "$ROOT"
for kind in transport signing sealing; do
    [ -e "$OUTDIR/$kind.key" ] && die "$OUTDIR/$kind.key already exists; use rotate.sh to replace certificates"
done
issue_folder "$ROOT" "urn:fctc:party:$PARTY" "$OUTDIR"
