#!/usr/bin/env bash
# isrscope's main job on the embedded default target: installs what is missing, builds
# the lab and isrscope, then shows a faulting sample (a BusFault inside an interrupt
# handler that preempted thread code) under QEMU.
# Usage: scripts/demo.sh [SAMPLE]   (a name from firmware-samples/build/c, default isr-fault)
set -euo pipefail
cd "$(dirname "$0")/.."
sample=${1:-isr-fault}
scripts/setup.sh >/dev/null
firmware-samples/build.sh >/dev/null
cargo build --locked --release --bins --quiet
exec firmware-samples/run-gdb.sh "firmware-samples/build/c/$sample.elf" BusFault_Handler
