/* See driverlib.h. The unused functions are long on purpose: built with
 * -ffunction-sections and linked with --gc-sections, each is dropped but its line
 * program stays in .debug_line relocated to address 0, where on this part (code at
 * 0x00000000) it overlaps the vector table and the code that follows it. */
#include "driverlib.h"

static volatile uint32_t drv_regs[8];
static unsigned drv_current_channel;

void drv_init(void)
{
    drv_current_channel = 2;
    drv_regs[0] = 0x11u;
}

unsigned drv_channel(void)
{
    return drv_current_channel;
}

void drv_store(uint32_t value)
{
    drv_regs[1] = value;
}

uint32_t drv_unused_crc(const uint8_t *p, unsigned n)
{
    uint32_t crc = 0xFFFFFFFFu;
    for (unsigned i = 0; i < n; i++) {
        crc ^= p[i];
        for (unsigned b = 0; b < 8; b++) {
            uint32_t mask = -(crc & 1u);
            crc = (crc >> 1) ^ (0xEDB88320u & mask);
        }
        drv_regs[2] = crc;
    }
    return ~crc;
}

uint32_t drv_unused_config(unsigned mode, uint32_t a, uint32_t b)
{
    uint32_t r;
    switch (mode) {
    case 0: r = a + b; drv_regs[3] = r; break;
    case 1: r = a - b; drv_regs[4] = r; break;
    case 2: r = a * b + 7u; drv_regs[5] = r; break;
    case 3: r = (a << 3) ^ (b >> 2); drv_regs[6] = r; break;
    case 4: r = a / (b | 1u); drv_regs[7] = r; break;
    case 5: r = a % (b | 1u); drv_regs[0] = r; break;
    case 6: r = (a & 0xFF00FF00u) | (b & 0x00FF00FFu); drv_regs[1] = r; break;
    case 7: r = ~a + (b << 1); drv_regs[2] = r; break;
    case 8: r = a * 3u + b * 5u; drv_regs[3] = r; break;
    case 9: r = (a >> 7) + (b << 9); drv_regs[4] = r; break;
    case 10: r = a ^ b ^ 0xA5A5A5A5u; drv_regs[5] = r; break;
    case 11: r = (a | b) - (a & b); drv_regs[6] = r; break;
    default: r = 0; drv_regs[7] = r; break;
    }
    for (unsigned i = 0; i < (mode & 7u); i++) {
        r = (r << 5) | (r >> 27);
        drv_regs[i] = r ^ drv_regs[(i + 1) & 7u];
    }
    return r;
}

void drv_unused_copy(uint32_t *dst, const uint32_t *src, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        dst[i] = src[i] ^ drv_regs[i & 7u];
        drv_regs[i & 7u] = dst[i] + i;
    }
    for (unsigned i = n; i > 0; i--) {
        dst[i - 1] += drv_regs[(i * 3u) & 7u];
    }
}

/* The largest unused functions: register-by-register bring-up sequences, as vendor HALs
 * write them (about 1 KiB of code each, so each dead line program spans the whole
 * application at the bottom of flash), one per peripheral instance. */
#define RST4(base) drv_regs[(base) & 7u] = (base) * 0x01010101u; drv_regs[((base) + 1) & 7u] = (base) ^ 0x5Au; \
    drv_regs[((base) + 2) & 7u] = (base) << 4; drv_regs[((base) + 3) & 7u] = ~(uint32_t)(base);
#define RST16(b) RST4(b) RST4((b) + 4) RST4((b) + 8) RST4((b) + 12)
#define BRINGUP(n) void drv_unused_bringup##n(void) \
    { RST16(0x10 + n) RST16(0x20 + n) RST16(0x30 + n) RST16(0x40 + n) RST16(0x50 + n) RST16(0x60 + n) }
BRINGUP(0) BRINGUP(1) BRINGUP(2) BRINGUP(3) BRINGUP(4) BRINGUP(5) BRINGUP(6) BRINGUP(7)

uint32_t drv_read(volatile const uint32_t *reg)
{
    uint32_t v = *reg;
    return v & 0xFFu;
}
