#!/usr/bin/env bash
# Builds every C lab sample into firmware-samples/build/c/<name>.elf. Idempotent.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
out="$here/../build/c"
mkdir -p "$out"
CC=arm-none-eabi-gcc
COMMON_FLAGS=(-mthumb -g3 -O1 -ffreestanding -nostdlib -fno-common -Wall -Wextra -Werror
              -Wno-unused-parameter -I"$here/common" -L"$here/common")

# f407 NAME SOURCE [EXTRA FLAGS...]: a sample for the STM32F407 (netduinoplus2).
f407() {
  local name=$1 src=$2; shift 2
  $CC -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 "${COMMON_FLAGS[@]}" "$@" \
      -T stm32f407.ld "$here/common/startup_stm32f407.c" "$here/common/handlers.c" \
      "$here/scenarios/$src" -lgcc -o "$out/$name.elf"
}

# f407_ram NAME SOURCE: the same, linked to run from SRAM (common/stm32f407_ram.ld).
f407_ram() {
  local name=$1 src=$2; shift 2
  $CC -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 "${COMMON_FLAGS[@]}" "$@" \
      -T stm32f407_ram.ld "$here/common/startup_stm32f407.c" "$here/common/handlers.c" \
      "$here/scenarios/$src" -lgcc -o "$out/$name.elf"
}

# core NAME CPU BOARD SOURCE [EXTRA FLAGS...]: a sample for another core (generic startup).
core() {
  local name=$1 cpu=$2 board=$3 src=$4; shift 4
  $CC -mcpu="$cpu" -mfloat-abi=soft "${COMMON_FLAGS[@]}" "$@" \
      -T "$board.ld" "$here/common/startup_generic.c" "$here/common/handlers_generic.c" \
      "$here/scenarios/$src" -lgcc -o "$out/$name.elf"
}

f407 busfault busfault.c
f407 forced busfault.c -DLAB_BUSFAULT_DISABLED
# Bench only (vprobe/tests/bench_doors.rs, not in the manifest): forced's fault after
# about three seconds of running, timed by SysTick (scenarios/late_forced.c).
f407 late-forced late_forced.c -DLAB_BUSFAULT_DISABLED -DLAB_DELAY_WRAPS=30u
f407 undefinstr usagefault.c -DLAB_UF_UNDEFINSTR
f407 invstate usagefault.c -DLAB_UF_INVSTATE
f407 divbyzero usagefault.c -DLAB_UF_DIVBYZERO
f407 unaligned usagefault.c -DLAB_UF_UNALIGNED
f407 memmanage memmanage.c
f407 isr-fault isr_fault.c
f407 psp-fp psp_fp.c
f407 stack-overflow stack_overflow.c
f407 svc svc.c
f407 nested-irq nested_irq.c
f407 vectors-good vectors_ok.c
# The DebugMon entry holds Default_Handler's address without the Thumb bit. A function
# symbol always gets bit 0 from the linker, so link once to learn the address, then
# again with it as a plain number.
f407 vec-nothumb vectors_ok.c
nothumb=0x$(arm-none-eabi-nm "$out/vec-nothumb.elf" | awk '$3 == "Default_Handler" {print $1}')
f407 vec-nothumb vectors_ok.c -Wl,--defsym=lab_nothumb_vector=$nothumb \
     '-DLAB_DEBUGMON_VECTOR=((void (*)(void))lab_nothumb_vector)'
f407 vec-midfunc vectors_ok.c '-DLAB_USAGEFAULT_VECTOR=((void (*)(void))((char *)UsageFault_Handler + 4))'
f407 vec-sp-misaligned vectors_ok.c '-DLAB_INITIAL_SP=((void (*)(void))((char *)&_estack - 4))'
f407 vtor-ram vtor_ram.c
f407 lockup lockup.c
f407 semihost-exit semihost_exit.c
f407_ram busfault-ram busfault.c

core m0-unaligned cortex-m0 microbit m0_unaligned.c
core m3-busfault cortex-m3 mps2 busfault.c
core m7-busfault cortex-m7 mps2 busfault.c -DLAB_UNMAPPED_ADDR=0x70000000u
core m33-busfault cortex-m33 mps2_an505 busfault.c
# Built as vendor projects build (see scenarios/gc_busfault.c): -O2, one section per
# function and object, --gc-sections, code at 0x00000000, a driver library mostly unused.
# Link order as a vendor project's makefile has it: startup, handlers, the application,
# then the libraries (driverlib.c, unused_lib.c last).
gc_busfault() {
  $CC -mcpu=cortex-m3 -mfloat-abi=soft "${COMMON_FLAGS[@]}" -O2 -ffunction-sections -fdata-sections \
      -Wl,--gc-sections "$@" -T mps2.ld "$here/common/startup_generic.c" "$here/common/handlers_generic.c" \
      "$here/scenarios/gc_busfault.c" "$here/common/driverlib.c" "$here/common/unused_lib.c" -lgcc \
      -o "$out/gc-busfault.elf"
}
gc_busfault
# Link again with unused_lib.c's dead function sized to end 2 bytes past the return
# address of read_status's call to drv_read (see common/unused_lib.c); dropped code does
# not move live code, so the first link gives the address.
ra=$(arm-none-eabi-objdump -d "$out/gc-busfault.elf" | awk '/<read_status>:/ {f=1} f && !done && /bl.*<drv_read>/ {print $1; done=1}' | tr -d :)
gc_busfault -DLAB_DEAD_NOPS=$(( (0x$ra + 4 + 2) / 2 ))
echo "built $(ls "$out"/*.elf | wc -l) C samples in $out"

# Clang/LLVM: scenario 1 compiled by clang (DWARF 5) and linked by ld.lld, with
# arm-none-eabi-gcc's libgcc for the same core and float ABI.
CLANG_FLAGS=(--target=thumbv7em-none-eabihf -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -fuse-ld=lld)
libgcc_dir=$(dirname "$($CC -mthumb -mcpu=cortex-m4 -mfloat-abi=hard -mfpu=fpv4-sp-d16 -print-libgcc-file-name)")
clang "${CLANG_FLAGS[@]}" "${COMMON_FLAGS[@]}" -T stm32f407.ld \
      "$here/common/startup_stm32f407.c" "$here/common/handlers.c" "$here/scenarios/busfault.c" \
      -L"$libgcc_dir" -lgcc -o "$out/clang-busfault.elf"
echo "built clang-busfault.elf with $(clang --version | head -n1)"
