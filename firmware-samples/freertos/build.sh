#!/usr/bin/env bash
# Builds the FreeRTOS lab samples into firmware-samples/build/freertos/<name>.elf:
# FreeRTOS-Kernel V11.2.0 (fetch-kernel.sh), the lab's FreeRTOSConfig.h and the C lab's
# startup and handlers, with arm-none-eabi-gcc. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
"$here/fetch-kernel.sh"
kernel="$here/../build/freertos-kernel"
lab="$here/../c/common"
out="$here/../build/freertos"
mkdir -p "$out"
CC=arm-none-eabi-gcc
# The kernel is compiled as its makefiles do (no -Werror); the lab's code strictly.
FLAGS=(-mthumb -g3 -O1 -ffreestanding -nostdlib -fno-common -I"$here" -I"$kernel/include" -I"$lab" -L"$lab")
STRICT=(-Wall -Wextra -Werror -Wno-unused-parameter)

# sample NAME SOURCE [EXTRA FLAGS...]: one sample built for the port the caller chose in
# CPU (compiler flags), PORT_SRCS (the port's files under the kernel), LD and STARTUP
# (the board's linker script, startup and handlers).
sample() {
  local name=$1 src=$2; shift 2
  local objs=()
  local dir="$out/obj-$name"
  mkdir -p "$dir"
  for f in tasks.c queue.c list.c "${PORT_SRCS[@]}" portable/MemMang/heap_4.c; do
    local o="$dir/$(basename "$f" .c).o"
    $CC "${CPU[@]}" "${FLAGS[@]}" "$@" -c "$kernel/$f" -o "$o"
    objs+=("$o")
  done
  $CC "${CPU[@]}" "${FLAGS[@]}" "${STRICT[@]}" "$@" -T "$LD" \
      "${STARTUP[@]}" "$here/common.c" "$here/scenarios/$src" \
      "${objs[@]}" -lc -lgcc -o "$out/$name.elf"
}

# cm4f NAME SOURCE [EXTRA FLAGS...]: a sample on the STM32F407 (netduinoplus2), port ARM_CM4F.
cm4f() {
  local CPU=(-mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -I"$kernel/portable/GCC/ARM_CM4F")
  local PORT_SRCS=(portable/GCC/ARM_CM4F/port.c) LD=stm32f407.ld
  local STARTUP=("$lab/startup_stm32f407.c" "$lab/handlers.c")
  sample "$@"
}

# cm3 NAME SOURCE [EXTRA FLAGS...]: a sample on the Cortex-M3 of mps2-an385, port ARM_CM3
# (no FPU: R4-R11 and the basic frame only), code at 0x0 as on that board.
cm3() {
  local CPU=(-mcpu=cortex-m3 -mfloat-abi=soft -I"$kernel/portable/GCC/ARM_CM3" -DconfigCPU_CLOCK_HZ=25000000u -DconfigPRIO_BITS=8)
  local PORT_SRCS=(portable/GCC/ARM_CM3/port.c) LD=mps2.ld
  local STARTUP=("$lab/startup_generic.c" "$lab/handlers_generic.c")
  sample "$@"
}

# cm33 NAME SOURCE [EXTRA FLAGS...]: a sample on the Cortex-M33 of mps2-an505, port
# ARM_CM33_NTZ (ARMv8-M: a saved context begins with PSPLIM and EXC_RETURN), Secure.
cm33() {
  local port=portable/GCC/ARM_CM33_NTZ/non_secure
  local CPU=(-mcpu=cortex-m33 -mfloat-abi=hard -mfpu=fpv5-sp-d16 -I"$kernel/$port" -DconfigCPU_CLOCK_HZ=25000000u -DconfigPRIO_BITS=8)
  local PORT_SRCS=("$port/port.c" "$port/portasm.c") LD=mps2_an505.ld
  local STARTUP=("$lab/startup_generic.c" "$lab/handlers_generic.c")
  sample "$@"
}

cm4f task-busfault task_busfault.c
cm4f isr-over-task isr_over_task.c
cm4f stack-overflow-hook stack_overflow_hook.c
cm4f deadlock deadlock.c
cm4f isr-gives-semaphore isr_gives_semaphore.c
cm4f assert-fails assert_fails.c
cm4f stack-overflow-uncaught stack_overflow_uncaught.c -DconfigCHECK_FOR_STACK_OVERFLOW=0
cm3 m3-task-busfault task_busfault.c
cm3 m3-deadlock deadlock.c
cm33 m33-task-busfault task_busfault.c
echo "built $(ls "$out"/*.elf | wc -l) FreeRTOS samples in $out"
