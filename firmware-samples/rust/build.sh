#!/usr/bin/env bash
# Builds every Rust lab sample (one binary per file in src/bin/) and copies each ELF to
# firmware-samples/build/rust/<name>.elf. Idempotent: cargo rebuilds only what changed.
#
# Toolchain (see docs / the setup script): Debian's rustc-web + cargo-web + rust-web-src
# (rustc 1.96 as /usr/bin/rustc, the standard library source under /usr/lib/rustlib/src)
# and binutils-arm-none-eabi (arm-none-eabi-ld is the linker). The rustup toolchain has no
# thumbv7em standard library, so `core` is compiled from source (-Zbuild-std=core, enabled
# by RUSTC_BOOTSTRAP=1 on this stable compiler). Override with FW_RUSTC / FW_CARGO.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/rust"
rustc_bin=${FW_RUSTC:-/usr/bin/rustc}
cargo_bin=${FW_CARGO:-/usr/bin/cargo}
target=thumbv7em-none-eabihf

missing=()
[ -x "$rustc_bin" ] || missing+=("$rustc_bin (apt-get install rustc-web)")
[ -x "$cargo_bin" ] || missing+=("$cargo_bin (apt-get install cargo-web)")
sysroot=$("$rustc_bin" --print sysroot 2>/dev/null || echo /usr)
[ -d "$sysroot/lib/rustlib/src/rust/library/core" ] ||
  missing+=("$sysroot/lib/rustlib/src/rust/library (apt-get install rust-web-src)")
for tool in arm-none-eabi-ld arm-none-eabi-objcopy; do
  command -v $tool >/dev/null || missing+=("$tool (apt-get install binutils-arm-none-eabi)")
done
if [ ${#missing[@]} -gt 0 ]; then
  printf 'firmware-samples/rust/build.sh: missing %s\n' "${missing[@]}" >&2
  exit 1
fi

cd "$here"
export CARGO_TARGET_DIR="$here/target"
# Keep flags meant for the host build out of the firmware build.
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET RUSTUP_TOOLCHAIN
RUSTC="$rustc_bin" RUSTC_BOOTSTRAP=1 "$cargo_bin" build --release --locked

mkdir -p "$out"
n=0
for src in src/bin/*.rs; do
  name=$(basename "$src" .rs)
  elf="$CARGO_TARGET_DIR/$target/release/$name"
  case $name in
    # The table entry must point into the middle of uf_handler_body with no symbol there:
    # drop the helper symbol the table was linked against (see src/bin/vec-midfunc.rs).
    vec-midfunc) arm-none-eabi-objcopy --strip-symbol=UsageFault "$elf" "$out/$name.elf" ;;
    *) cp -f "$elf" "$out/$name.elf" ;;
  esac
  n=$((n + 1))
done
echo "built $n Rust samples in $(cd "$out" && pwd)"
