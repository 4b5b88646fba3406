/* rtos-stack-overflow-uncaught: built without configCHECK_FOR_STACK_OVERFLOW (as much
 * production firmware is), so nothing catches hog (a 128-word stack) writing a 700-byte
 * buffer on its stack: the writes run past its stack's base into the heap block below,
 * which is victim's TCB (heap_4 allocates a task's stack, then its TCB, so the TCB of
 * the task created before lies just below). hog then sleeps; the scheduler follows
 * victim's corrupt ready list item (0x6a6a6a6a, the buffer's fill) and faults inside the
 * context switch. The report must point at hog: its stack has no fill byte left at its
 * base. */
#include <string.h>
#include "FreeRTOS.h"
#include "task.h"
#include "lab.h"
#include "lab_rtos.h"

volatile uint32_t sink;

static void victim_task(void *arg)
{
    (void)arg;
    for (;;) {
        sink++; /* ready at priority 1 whenever hog sleeps */
    }
}

__attribute__((noinline)) static void fill_packet(uint8_t *buf, size_t n)
{
    memset(buf, 0x6a, n);
}

__attribute__((noinline)) static void hog_work(void)
{
    uint8_t packet[700];
    fill_packet(packet, sizeof packet);
    sink = packet[sizeof packet - 1];
}

static void hog_task(void *arg)
{
    (void)arg;
    vTaskDelay(2); /* victim has run */
    lab_rtos_snapshot();
    hog_work();
    vTaskDelay(1);
    for (;;) {
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    xTaskCreate(victim_task, "victim", 256, NULL, 1, NULL);
    xTaskCreate(hog_task, "hog", 128, NULL, 2, NULL);
    vTaskStartScheduler();
    lab_idle();
}
