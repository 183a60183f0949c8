#!/usr/bin/env bash
# backports.sh - make bookworm-backports available to apt (valkey-server and
# valkey-tools for side-by-side benchmarks come from there). Idempotent: does
# nothing when an entry for bookworm-backports exists already. Run as root;
# run `apt-get update` afterwards.
set -euo pipefail

DEST=/etc/apt/sources.list.d/bookworm-backports.sources
MAIN=/etc/apt/sources.list.d/debian.sources

if grep -rqsE '(^|[[:space:]])bookworm-backports([[:space:]]|$)' \
        /etc/apt/sources.list /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; then
    echo "backports: bookworm-backports already configured"
    exit 0
fi
[ -f "$MAIN" ] || { echo "backports: $MAIN not found; add bookworm-backports by hand" >&2; exit 1; }
# the same mirror and key as the machine's own Debian entry
uri=$(awk '/^URIs:/ { print $2; exit }' "$MAIN")
key=$(awk '/^Signed-By:/ { print $2; exit }' "$MAIN")
[ -n "$uri" ] || { echo "backports: no URIs in $MAIN" >&2; exit 1; }
[ -n "$key" ] || key=/usr/share/keyrings/debian-archive-keyring.gpg
cat > "$DEST" <<EOS
Types: deb
URIs: $uri
Suites: bookworm-backports
Components: main
Signed-By: $key
EOS
echo "backports: wrote $DEST"
