/* rtos-deadlock: two tasks take two mutexes in opposite orders and wait for each other
 * forever (portMAX_DELAY). No fault ever comes: the report after the timeout must show
 * who holds which mutex and who waits for which. beta (priority 3) waits for m_a, held
 * by alpha (2), so priority inheritance has raised alpha to 3 (base priority 2); alpha
 * waits for m_b, held by beta. monitor (1) records the firmware's own view once both
 * are stuck, then sleeps; the core idles. */
#include "FreeRTOS.h"
#include "task.h"
#include "semphr.h"
#include "lab.h"
#include "lab_rtos.h"

static SemaphoreHandle_t m_a;
static SemaphoreHandle_t m_b;
volatile uint32_t shared_a, shared_b;

static void alpha_task(void *arg)
{
    (void)arg;
    xSemaphoreTake(m_a, portMAX_DELAY);
    shared_a++;
    vTaskDelay(5); /* beta takes m_b meanwhile */
    xSemaphoreTake(m_b, portMAX_DELAY);
    shared_b++;
    for (;;) {
    }
}

static void beta_task(void *arg)
{
    (void)arg;
    vTaskDelay(2); /* alpha takes m_a first */
    xSemaphoreTake(m_b, portMAX_DELAY);
    shared_b++;
    vTaskDelay(5); /* alpha blocks on m_b meanwhile */
    xSemaphoreTake(m_a, portMAX_DELAY);
    shared_a++;
    for (;;) {
    }
}

static void monitor_task(void *arg)
{
    (void)arg;
    vTaskDelay(20); /* both are stuck by tick 7 */
    lab_rtos_snapshot();
    for (;;) {
        vTaskDelay(pdMS_TO_TICKS(10000));
    }
}

int main(void)
{
    m_a = xSemaphoreCreateMutex();
    m_b = xSemaphoreCreateMutex();
    vQueueAddToRegistry(m_a, "m_a");
    vQueueAddToRegistry(m_b, "m_b");
    xTaskCreate(alpha_task, "alpha", 256, NULL, 2, NULL);
    xTaskCreate(beta_task, "beta", 256, NULL, 3, NULL);
    xTaskCreate(monitor_task, "monitor", 256, NULL, 1, NULL);
    vTaskStartScheduler();
    lab_idle();
}
