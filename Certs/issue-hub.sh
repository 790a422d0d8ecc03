#!/usr/bin/env bash
# Issues the hub's certificate folder (the global information-sharing focal point), same
# layout as a Party's, for urn:fctc:hub:NAME.
# Usage: issue-hub.sh NAME OUTDIR [--root DIR] [--days N] [--start YYYYMMDDHHMMSSZ] [--end YYYYMMDDHHMMSSZ]
source "$(dirname "$0")/lib.sh"

usage() { sed -n '2,4p' "$0" | sed 's/^# \{0,1\}//'; }
parse_common "$@"
[ ${#POSITIONAL[@]} -eq 2 ] || { usage >&2; exit 2; }
NAME="${POSITIONAL[0]}"; OUTDIR="${POSITIONAL[1]}"
[[ "$NAME" =~ ^[a-z0-9][a-z0-9-]{0,62}$ ]] || die "hub name '$NAME' must be lowercase letters, digits and dashes"
require_root "$ROOT"
for kind in transport signing sealing; do
    [ -e "$OUTDIR/$kind.key" ] && die "$OUTDIR/$kind.key already exists; use rotate.sh to replace certificates"
done
issue_folder "$ROOT" "urn:fctc:hub:$NAME" "$OUTDIR"
