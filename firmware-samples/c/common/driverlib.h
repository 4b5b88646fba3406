/* A vendor-style peripheral driver library (stands in for STM32 HAL, nrfx, MCUXpresso
 * drivers): the application uses three of its functions; the linker drops the rest. */
#ifndef DRIVERLIB_H
#define DRIVERLIB_H
#include <stdint.h>

void drv_init(void);
unsigned drv_channel(void);
void drv_store(uint32_t value);

uint32_t drv_unused_crc(const uint8_t *p, unsigned n);
uint32_t drv_unused_config(unsigned mode, uint32_t a, uint32_t b);
void drv_unused_copy(uint32_t *dst, const uint32_t *src, unsigned n);
void drv_unused_bringup0(void);
/* Reads a device register (the lab's device is unmapped: this is where it faults). */
uint32_t drv_read(volatile const uint32_t *reg);
#endif
