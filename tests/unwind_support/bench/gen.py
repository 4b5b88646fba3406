"""Generates the benchmark firmware: FILES x PER functions with inlined helpers and
struct types (about 20 MB of DWARF for 16 x 2000), plus main.c with a 50-deep call
chain ending in `deepest`. Usage: gen.py FILES PER OUTDIR"""
import sys, os
files, per = int(sys.argv[1]), int(sys.argv[2])
out = sys.argv[3]
os.makedirs(out, exist_ok=True)
for f in range(files):
    with open(f"{out}/big_{f}.c", "w") as o:
        o.write("#include <stdint.h>\n")
        for i in range(per):
            n = f * per + i
            o.write(f"struct S{n} {{ int a; float b; char name[8]; uint16_t k[4]; }};\n")
            o.write(f"static inline __attribute__((always_inline)) int h{n}_0(int x) {{ volatile int y = x * {n % 7 + 2}; return y + 1; }}\n")
            o.write(f"static inline __attribute__((always_inline)) int h{n}_1(int x) {{ int r = h{n}_0(x) ^ {n % 13}; return r; }}\n")
            o.write(f"__attribute__((noinline)) int f{n}(int x) {{ struct S{n} s = {{x, x * 0.5f, \"abc\", {{1,2,3,4}}}}; volatile struct S{n} *p = &s; return h{n}_1(x) + p->a + (int)p->b + p->k[x & 3]; }}\n")

lines = ['#include <stdint.h>', 'extern uint32_t _estack;', 'volatile int sink;',
 '__attribute__((noinline)) void deepest(int x) { sink = x; for (;;) { sink++; } }']
for k in range(49, -1, -1):
    callee = 'deepest' if k == 49 else f'chain{k+1}'
    lines.append(f'__attribute__((noinline)) void chain{k}(int x) {{ {callee}(x + 1); sink++; }}')
lines += ['int f0(int);', 'int main(void) { sink = f0(sink); chain0(sink); for (;;) {} }',
 'void Reset_Handler(void) { main(); for (;;) {} }',
 'void Default_Handler(void) { for (;;) {} }',
 '__attribute__((section(".isr_vector"), used)) void (*const g_pfnVectors[])(void) = {',
 '  (void (*)(void))&_estack, Reset_Handler, Default_Handler, Default_Handler };']
open(f'{out}/main.c', 'w').write('\n'.join(lines) + '\n')
