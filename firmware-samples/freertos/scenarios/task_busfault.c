/* rtos-task-busfault: six tasks in every state, and the running one faults.
 * sensor (priority 3) is blocked on the queue "sensor_q", logger (1) is delayed for a
 * second, spare (2) is suspended, IDLE (0) is ready, oneshot (4) has deleted itself
 * (its memory not yet freed: the idle task frees it, and IDLE does not run again), and
 * worker (2) runs: it wakes oneshot, records the firmware's own view of the tasks
 * (lab_rtos_view), then reads a device register through a pointer to unmapped memory:
 * a precise BusFault, taken on the MSP with the exception frame on worker's PSP. */
#include "FreeRTOS.h"
#include "task.h"
#include "queue.h"
#include "lab.h"
#include "lab_rtos.h"

static volatile uint32_t *const device = (volatile uint32_t *)LAB_UNMAPPED_ADDR;
static QueueHandle_t sensor_q;
static TaskHandle_t others[4];
volatile uint32_t sink;

static void sensor_task(void *arg)
{
    uint32_t sample;
    (void)arg;
    for (;;) {
        if (xQueueReceive(sensor_q, &sample, portMAX_DELAY) == pdPASS) {
            sink = sample;
        }
    }
}

static void logger_task(void *arg)
{
    (void)arg;
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(1000));
    }
}

static void spare_task(void *arg)
{
    (void)arg;
    vTaskSuspend(NULL);
    for (;;) {
    }
}

static void oneshot_task(void *arg)
{
    (void)arg;
    ulTaskNotifyTake(pdTRUE, portMAX_DELAY);
    vTaskDelete(NULL); /* to xTasksWaitingTermination, for the idle task to free */
}

__attribute__((noinline)) static uint32_t read_device(unsigned reg)
{
    return device[reg];
}

static void worker_task(void *arg)
{
    (void)arg;
    lab_wait_until_parked(others, 4); /* every other task reaches its state */
    xTaskNotifyGive(others[3]); /* oneshot runs at once, deletes itself */
    lab_rtos_snapshot();
    sink = read_device(2);
    for (;;) {
    }
}

int main(void)
{
    SCB_SHCSR |= SHCSR_BUSFAULTENA;
    lab_dsb_isb();
    sensor_q = xQueueCreate(4, sizeof(uint32_t));
    vQueueAddToRegistry(sensor_q, "sensor_q");
    xTaskCreate(sensor_task, "sensor", 256, NULL, 3, &others[0]);
    xTaskCreate(logger_task, "logger", 256, NULL, 1, &others[1]);
    xTaskCreate(spare_task, "spare", 192, NULL, 2, &others[2]);
    xTaskCreate(oneshot_task, "oneshot", 128, NULL, 4, &others[3]);
    xTaskCreate(worker_task, "worker", 384, NULL, 2, NULL);
    vTaskStartScheduler();
    lab_idle();
}
