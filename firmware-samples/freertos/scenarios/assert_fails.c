/* rtos-assert-fails: a task gives a mutex it does not hold from an ISR-safe path it
 * must not use: xSemaphoreGiveFromISR on a mutex trips configASSERT in queue.c
 * (xQueueGiveFromISR: "mutexes cannot be given from an ISR" when a holder is set).
 * configASSERT calls vAssertCalled(__FILE__, __LINE__), which parks. */
#include "FreeRTOS.h"
#include "task.h"
#include "semphr.h"
#include "lab.h"
#include "lab_rtos.h"

static SemaphoreHandle_t lock;
volatile uint32_t shared;

static void holder_task(void *arg)
{
    (void)arg;
    xSemaphoreTake(lock, portMAX_DELAY);
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}

__attribute__((noinline)) static void release_lock(void)
{
    BaseType_t woken = pdFALSE;
    xSemaphoreGiveFromISR(lock, &woken);
}

static void worker_task(void *arg)
{
    (void)arg;
    vTaskDelay(2); /* holder has taken the mutex */
    lab_rtos_snapshot();
    shared++;
    release_lock();
    for (;;) {
    }
}

int main(void)
{
    lock = xSemaphoreCreateMutex();
    vQueueAddToRegistry(lock, "lock");
    xTaskCreate(holder_task, "holder", 256, NULL, 2, NULL);
    xTaskCreate(worker_task, "worker", 256, NULL, 1, NULL);
    vTaskStartScheduler();
    lab_idle();
}
