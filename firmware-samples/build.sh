#!/usr/bin/env bash
# Builds every lab sample: C (arm-none-eabi-gcc) into build/c/, Rust (Debian's rustc
# with -Zbuild-std) into build/rust/ and, release-built, into build/rust-release/, C on
# FreeRTOS into build/freertos/. Idempotent; run scripts/setup.sh first.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/c/build.sh"
if [ -x "$here/rust/build.sh" ]; then
  "$here/rust/build.sh"
fi
# The `isrscope run` samples: a crate whose cargo runner is isrscope.
"$here/rust-run/build.sh"
# Built the way real projects build firmware (LTO, opt-level s/z, flash at 0).
"$here/rust-release/build.sh"
# FreeRTOS-Kernel V11.2.0 (one pinned download, see freertos/fetch-kernel.sh).
"$here/freertos/build.sh"
