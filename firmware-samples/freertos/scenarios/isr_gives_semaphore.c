/* rtos-isr-gives-semaphore: rx (priority 3) waits forever on the binary semaphore
 * "rx_sem"; worker (1) records the firmware's own view and pends EXTI1 (IRQ7), whose
 * handler gives rx_sem from the ISR (rx becomes ready: the ISR asks for a context
 * switch on exit) and then reads a device register through a pointer to unmapped
 * memory: a precise BusFault over the ISR. Two stops of this one image are in the
 * manifest: the ISR's entry (rx still blocked on rx_sem) and the fault (rx ready,
 * woken by the ISR, not yet run). */
#include "FreeRTOS.h"
#include "task.h"
#include "semphr.h"
#include "lab.h"
#include "lab_rtos.h"

static volatile uint32_t *const device = (volatile uint32_t *)LAB_UNMAPPED_ADDR;
static SemaphoreHandle_t rx_sem;
volatile uint32_t sink, received;

static void rx_task(void *arg)
{
    (void)arg;
    for (;;) {
        if (xSemaphoreTake(rx_sem, portMAX_DELAY) == pdPASS) {
            received++;
        }
    }
}

__attribute__((noinline)) static uint32_t read_fifo(void)
{
    return device[3];
}

void EXTI1_IRQHandler(void)
{
    BaseType_t woken = pdFALSE;
    xSemaphoreGiveFromISR(rx_sem, &woken);
    sink = read_fifo();
    portYIELD_FROM_ISR(woken);
}

static void worker_task(void *arg)
{
    (void)arg;
    vTaskDelay(2); /* rx is waiting */
    lab_rtos_snapshot();
    NVIC_IPR(7) = 0xC0; /* below configMAX_SYSCALL_INTERRUPT_PRIORITY: may call FromISR APIs */
    NVIC_ISER(0) = 1u << 7;
    NVIC_ISPR(0) = 1u << 7;
    lab_dsb_isb();
    for (;;) {
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    rx_sem = xSemaphoreCreateBinary();
    vQueueAddToRegistry(rx_sem, "rx_sem");
    xTaskCreate(rx_task, "rx", 256, NULL, 3, NULL);
    xTaskCreate(worker_task, "worker", 256, NULL, 1, NULL);
    vTaskStartScheduler();
    lab_idle();
}
