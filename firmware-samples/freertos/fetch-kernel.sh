#!/usr/bin/env bash
# Puts the FreeRTOS kernel sources at firmware-samples/build/freertos-kernel/: the
# crates.io package freertos-next 0.12.0 (MIT), which vendors FreeRTOS-Kernel V11.2.0
# under FreeRTOS-Kernel/. One pinned download, checked against the registry's SHA-256
# (the checksum cargo's lockfiles carry for it); cargo's own cache is used when it
# holds the file. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/freertos-kernel"
VERSION=0.12.0
SHA256=b7824fb42660c16e1b3b573eef99c2fe5c5cba6294a631c309084635f6bfcbb0
if [ -f "$out/.sha256" ] && [ "$(cat "$out/.sha256")" = "$SHA256" ]; then
  exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
crate="$tmp/freertos-next-$VERSION.crate"
cached=$(ls "${CARGO_HOME:-$HOME/.cargo}"/registry/cache/*/freertos-next-$VERSION.crate 2>/dev/null | head -n1 || true)
if [ -n "$cached" ]; then
  cp "$cached" "$crate"
else
  curl -sSfL --retry 3 -o "$crate" "https://static.crates.io/crates/freertos-next/freertos-next-$VERSION.crate"
fi
echo "$SHA256  $crate" | sha256sum -c --quiet -
tar -xzf "$crate" -C "$tmp"
rm -rf "$out"
mkdir -p "$(dirname "$out")"
mv "$tmp/freertos-next-$VERSION/FreeRTOS-Kernel" "$out"
echo "$SHA256" > "$out/.sha256"
echo "fetched FreeRTOS-Kernel $(sed -n 's/.*tskKERNEL_VERSION_NUMBER *"\(.*\)"/\1/p' "$out/include/task.h") (freertos-next $VERSION) into $out"
