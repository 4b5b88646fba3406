/* rtos-stack-overflow-hook: a task overruns its stack and FreeRTOS' check catches it.
 * hog (priority 2, a 128-word stack) calls a function with a 600-byte buffer on the
 * stack: it writes past the stack's base into a guard block allocated just below it
 * (so nothing else is hit), then sleeps. The context switch checks the outgoing
 * task's stack (configCHECK_FOR_STACK_OVERFLOW 2: the 16 fill bytes at the base
 * are gone) and calls vApplicationStackOverflowHook(hog, "hog"). No fault: the lab's
 * hook parks there. */
#include <string.h>
#include "FreeRTOS.h"
#include "task.h"
#include "lab.h"
#include "lab_rtos.h"

volatile uint32_t sink;

__attribute__((noinline)) static void fill_buffer(void)
{
    volatile uint8_t buffer[600];
    for (unsigned i = 0; i < sizeof buffer; i++) {
        buffer[i] = (uint8_t)i;
    }
    sink = buffer[17];
}

static void hog_task(void *arg)
{
    (void)arg;
    fill_buffer();
    for (;;) {
        vTaskDelay(1); /* switched out: the context switch checks its stack */
    }
}

static void logger_task(void *arg)
{
    (void)arg;
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}

int main(void)
{
    xTaskCreate(logger_task, "logger", 256, NULL, 1, NULL);
    /* heap_4 hands out blocks in order: the guard lies just below hog's stack. */
    void *guard = pvPortMalloc(1024);
    (void)guard;
    xTaskCreate(hog_task, "hog", 128, NULL, 2, NULL);
    vTaskStartScheduler();
    lab_idle();
}
