#!/usr/bin/env bash
# Builds the release-built Rust lab samples (see Cargo.toml: opt-level s/z, fat LTO, one
# codegen unit, full DWARF, flash at 0x00000000) into firmware-samples/build/rust-release/.
# Same toolchain route as ../rust/build.sh (Debian's rustc-web with -Zbuild-std=core).
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/rust-release"
rustc_bin=${FW_RUSTC:-/usr/bin/rustc}
cargo_bin=${FW_CARGO:-/usr/bin/cargo}
command -v ld.lld >/dev/null || { echo "$0: missing ld.lld (apt-get install lld)" >&2; exit 1; }

cd "$here"
export CARGO_TARGET_DIR="$here/target"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET RUSTUP_TOOLCHAIN
build() { # TARGET PROFILE PREFIX BIN...: copies each BIN to PREFIX + BIN + .elf
  local target=$1 profile=$2 prefix=$3; shift 3
  local args=()
  for b in "$@"; do args+=(--bin "$b"); done
  RUSTC="$rustc_bin" RUSTC_BOOTSTRAP=1 "$cargo_bin" build --locked --target "$target" --profile "$profile" "${args[@]}"
  mkdir -p "$out"
  for b in "$@"; do cp -f "$CARGO_TARGET_DIR/$target/$profile/$b" "$out/$prefix$b.elf"; done
}
# Cortex-M3 (mps2-an385), opt-level "s", GNU ld.
build thumbv7m-none-eabi release "" noreturn-main hardfault-helpers svc-hardfault irq-tailcall
# Cortex-M0 (microbit), opt-level "z", ld.lld: noreturn-main as m0-noreturn.elf.
build thumbv6m-none-eabi release-z m0- noreturn-main
echo "built $(ls "$out"/*.elf | wc -l) release-built Rust samples in $(cd "$out" && pwd)"
