#!/usr/bin/env bash
# Fetch axe-core (the accessibility rules engine the browser tests inject) from the npm
# registry into tests/.cache/axe/, so the tests then run offline. Pinned: a new axe release
# can add rules, and a test run should not change because the registry did.
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION="4.14.1"
DEST="tests/.cache/axe"
if [ -f "$DEST/axe.min.js" ] && grep -q "axe v$VERSION" "$DEST/axe.min.js"; then
  exit 0
fi
mkdir -p "$DEST"
tmp="$(mktemp -d)"
trap 'rm -rf "$tmp"' EXIT
(cd "$tmp" && npm pack --silent "axe-core@$VERSION" >/dev/null)   # npm checks the registry's integrity hash
tar -xzf "$tmp/axe-core-$VERSION.tgz" -C "$tmp" package/axe.min.js package/LICENSE
cp "$tmp/package/axe.min.js" "$tmp/package/LICENSE" "$DEST/"
echo "axe-core $VERSION in $DEST"
