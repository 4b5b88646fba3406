/* A library file of which the application uses one function, lib_version, linked last
 * (after the scenario's code). Its other function is dropped by --gc-sections; the
 * linker relocates its range in this unit's DW_AT_ranges to [0, size). c/build.sh sizes
 * it (LAB_DEAD_NOPS nops, naked, so the size is exact) to end two bytes past
 * read_status's call of drv_read. A symbolizer that takes the first compile unit with a
 * range holding an address (units ordered by where their ranges end, as the addr2line
 * crate does) then finds only this unit's dead function below read_status's call site,
 * and names unused_sized, from this file, for read_status's frame.
 * (GNU ld keeps a unit's debug info only if some of its code is kept: hence the one
 * live function.) */
#ifndef LAB_DEAD_NOPS
#define LAB_DEAD_NOPS 1
#endif
#define LAB_STR2(x) #x
#define LAB_STR(x) LAB_STR2(x)

__attribute__((naked)) void unused_sized(void)
{
    __asm volatile(".rept " LAB_STR(LAB_DEAD_NOPS) "\n nop\n .endr\n");
}

unsigned lib_version(void)
{
    return 0x0102u;
}
