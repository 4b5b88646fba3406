/* rtos-isr-over-task: an interrupt faults while a task runs, and some tasks' saved
 * contexts hold the FPU's S16-S31. filter (priority 2) and mixer (1) compute with the
 * FPU and then sleep: FreeRTOS' ARM_CM4F PendSV saved S16-S31 for them (their EXC_RETURN
 * has bit 4 clear) and an extended frame; logger (1) never touched the FPU and sleeps
 * with a basic frame. worker (2) runs, pends EXTI0 (IRQ6), whose handler reads a device
 * register through a pointer to unmapped memory: a precise BusFault taken over the ISR,
 * both frames on the MSP, under them the IRQ's frame on worker's PSP. */
#include "FreeRTOS.h"
#include "task.h"
#include "lab.h"
#include "lab_rtos.h"

static volatile uint32_t *const device = (volatile uint32_t *)LAB_UNMAPPED_ADDR;
volatile uint32_t sink;
static TaskHandle_t others[3];
volatile float fsink;
/* What filter and mixer keep in a callee-saved FP register across their sleep (so the
 * port's saved S16-S31 hold it): the tests find these bits there. */
volatile float filter_acc, mixer_level;

__attribute__((noinline)) static float filter_step(float x, float k)
{
    return x * k + 0.5f;
}

static void filter_task(void *arg)
{
    (void)arg;
    float acc = 1.0f;
    for (;;) {
        acc = filter_step(acc, 0.75f);
        fsink = acc;
        filter_acc = acc;
        vTaskDelay(pdMS_TO_TICKS(500));
    }
}

static void mixer_task(void *arg)
{
    (void)arg;
    float level = 2.0f;
    for (;;) {
        level = level * 0.5f + filter_step(level, 1.5f);
        fsink = level;
        mixer_level = level;
        vTaskDelay(pdMS_TO_TICKS(700));
    }
}

static void logger_task(void *arg)
{
    (void)arg;
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}

__attribute__((noinline)) static uint32_t read_status(void)
{
    return device[1];
}

void EXTI0_IRQHandler(void)
{
    sink = read_status();
}

static void worker_task(void *arg)
{
    (void)arg;
    lab_wait_until_parked(others, 3); /* every other task has run and gone to sleep */
    lab_rtos_snapshot();
    NVIC_IPR(6) = 0xC0; /* below configMAX_SYSCALL_INTERRUPT_PRIORITY: no kernel call in it */
    NVIC_ISER(0) = 1u << 6;
    NVIC_ISPR(0) = 1u << 6;
    lab_dsb_isb();
    for (;;) {
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    xTaskCreate(filter_task, "filter", 256, NULL, 2, &others[0]);
    xTaskCreate(mixer_task, "mixer", 256, NULL, 1, &others[1]);
    xTaskCreate(logger_task, "logger", 256, NULL, 1, &others[2]);
    xTaskCreate(worker_task, "worker", 384, NULL, 2, NULL);
    vTaskStartScheduler();
    lab_idle();
}
