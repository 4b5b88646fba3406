#!/usr/bin/env bash
# Builds the `isrscope run` samples (one binary per file in src/bin/) and copies each ELF
# to firmware-samples/build/rust-run/<name>.elf. The crate's .cargo/config.toml makes
# isrscope its cargo runner, so `cargo run --bin NAME` runs one under isrscope (the
# tests do that: tests/run_lab.rs). Toolchain as firmware-samples/rust/build.sh.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/rust-run"
rustc_bin=${FW_RUSTC:-/usr/bin/rustc}
cargo_bin=${FW_CARGO:-/usr/bin/cargo}
cd "$here"
export CARGO_TARGET_DIR="$here/target"
unset RUSTFLAGS CARGO_ENCODED_RUSTFLAGS CARGO_BUILD_TARGET RUSTUP_TOOLCHAIN
RUSTC="$rustc_bin" RUSTC_BOOTSTRAP=1 "$cargo_bin" build --release --locked
# panic-probe's sample: the crate's own panic handler instead of the lab's.
RUSTC="$rustc_bin" RUSTC_BOOTSTRAP=1 "$cargo_bin" build --release --locked --bin panic-probe --no-default-features --features panic-probe
mkdir -p "$out"
n=0
for src in src/bin/*.rs; do
  name=$(basename "$src" .rs)
  cp -f "$CARGO_TARGET_DIR/thumbv7em-none-eabihf/release/$name" "$out/$name.elf"
  n=$((n + 1))
done
echo "built $n runner samples in $(cd "$out" && pwd)"
