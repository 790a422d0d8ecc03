#!/usr/bin/env bash
# Rotates a Party's (or the hub's) certificates: the current ones move, unchanged, to
# OUTDIR/archive/<UTC time>/ with a VALIDITY file; new ones, valid from now, take their place.
# The old certificates stay valid until their own notAfter, so the two sets overlap.
# Usage: rotate.sh OUTDIR [--root DIR] [--days N] [--start YYYYMMDDHHMMSSZ] [--end YYYYMMDDHHMMSSZ]
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,5p' "$0" | sed 's/^# \{0,1\}//'; }
parse_common "$@"
[ ${#POSITIONAL[@]} -eq 1 ] || { usage >&2; exit 2; }
OUTDIR="${POSITIONAL[0]}"
require_root "$ROOT"
[ -f "$OUTDIR/signing.pem" ] || die "$OUTDIR/signing.pem: no current certificate to rotate"
URN="$(openssl x509 -in "$OUTDIR/signing.pem" -noout -ext subjectAltName | sed -n 's/.*URI:\(urn:fctc:[a-z]*:[A-Za-z0-9-]*\).*/\1/p' | head -1)"
[ -n "$URN" ] || die "$OUTDIR/signing.pem: no urn:fctc: identity in subjectAltName"

STAMP="$(date -u +%Y%m%dT%H%M%SZ)"
ARCHIVE="$OUTDIR/archive/$STAMP"
[ -e "$ARCHIVE" ] && die "$ARCHIVE already exists; wait a second and retry"

# Issue the new set first, beside the folder: if the root refuses, nothing has moved.
NEW="$(mktemp -d "$OUTDIR/.rotating.XXXXXX")"
export FCTC_CLEANUP="$NEW"
issue_folder "$ROOT" "$URN" "$NEW" >/dev/null

mkdir -p "$ARCHIVE"
{
    echo "# certificates of $URN superseded on $STAMP; each stays valid until its notAfter"
    for kind in transport signing sealing; do
        echo "$kind $(openssl x509 -in "$OUTDIR/$kind.pem" -noout -serial -startdate -enddate | tr '\n' ' ')"
    done
} > "$ARCHIVE/VALIDITY"
for kind in transport signing sealing; do
    mv "$OUTDIR/$kind.pem" "$OUTDIR/$kind.key" "$ARCHIVE/"
done
mv -f "$NEW"/* "$OUTDIR/"
echo "issued new certificates for $URN into $OUTDIR"
echo "old certificates kept in $ARCHIVE"
