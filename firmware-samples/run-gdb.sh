#!/usr/bin/env bash
# Runs one lab sample under QEMU and shows, through gdb-multiarch, where it stops:
#   firmware-samples/run-gdb.sh ELF STOP_SYMBOL [MACHINE]
# e.g. firmware-samples/run-gdb.sh firmware-samples/build/c/busfault.elf BusFault_Handler
# QEMU starts halted with its gdbstub on a private unix socket; gdb breaks at the exact
# entry of STOP_SYMBOL, continues, prints the fault registers and the backtrace, and
# kills QEMU.
set -euo pipefail
elf=$1 stop=$2 machine=${3:-netduinoplus2}
dir=$(mktemp -d)
trap 'kill "$qpid" 2>/dev/null || true; rm -rf "$dir"' EXIT
qemu-system-arm -M "$machine" -kernel "$elf" -nographic -S -monitor none -serial null \
  -chardev socket,id=g,path="$dir/gdb.sock",server=on,wait=off -gdb chardev:g \
  2>"$dir/qemu.err" &
qpid=$!
for _ in $(seq 50); do [ -S "$dir/gdb.sock" ] && break; sleep 0.1; done
timeout 60 gdb-multiarch -batch -nx "$elf" \
  -ex "target remote $dir/gdb.sock" \
  -ex "break *$stop" -ex continue -ex 'set language c' \
  -ex 'printf "CFSR=0x%08x HFSR=0x%08x MMFAR=0x%08x BFAR=0x%08x SHCSR=0x%08x\n", *(unsigned*)0xE000ED28, *(unsigned*)0xE000ED2C, *(unsigned*)0xE000ED34, *(unsigned*)0xE000ED38, *(unsigned*)0xE000ED24' \
  -ex 'info registers pc sp lr xpsr msp psp control' \
  -ex 'set language auto' -ex bt ${GDB_EXTRA:+-ex "$GDB_EXTRA"} -ex kill 2>&1 || true
if [ -s "$dir/qemu.err" ]; then echo "--- qemu stderr:"; cat "$dir/qemu.err"; fi
