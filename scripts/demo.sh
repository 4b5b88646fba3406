#!/usr/bin/env bash
# isrscope's main job on the embedded default target: installs what is missing, builds
# the lab and isrscope, then starts a faulting sample in QEMU (netduinoplus2, the
# STM32F407's core and memory map) and opens isrscope's live terminal UI on it (the
# one-shot text report when stdout is not a terminal): by default a BusFault inside an
# interrupt handler that preempted thread code.
# Usage: scripts/demo.sh [SAMPLE [MACHINE]]   e.g. scripts/demo.sh psp-fp
#        (SAMPLE: an ELF name in firmware-samples/build/c or a path to an ELF)
set -euo pipefail
cd "$(dirname "$0")/.."
sample=${1:-isr-fault}
machine=${2:-netduinoplus2}
scripts/setup.sh >/dev/null
firmware-samples/build.sh >/dev/null
cargo build --locked --release --bins --quiet
elf=$sample
[ -f "$elf" ] || elf="firmware-samples/build/c/$sample.elf"
# On a terminal: the live UI (docs/tui.md; q quits and ends QEMU). Without one (CI,
# a pipe): the one-shot report.
if [ -t 0 ] && [ -t 1 ] && [ -z "${ISRSCOPE_DEMO_NO_TUI:-}" ]; then
  exec target/release/isrscope attach --qemu "$machine" --elf "$elf"
fi
set +e
target/release/isrscope inspect --qemu "$machine" --elf "$elf"
code=$?
echo
echo "(isrscope exit code $code: 0 no fault, 10 HardFault, 11 MemManage, 12 BusFault, 13 UsageFault, 14 SecureFault, 15 lockup)"
exit 0
