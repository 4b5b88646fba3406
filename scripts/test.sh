#!/usr/bin/env bash
# The whole test suite, from a fresh clone: installs what is missing (scripts/setup.sh),
# builds the firmware lab and isrscope, then runs every test (unit, QEMU lab, gdb oracle).
# Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
firmware-samples/build.sh
cargo build --locked --workspace --bins
cargo test --locked --workspace --no-fail-fast
