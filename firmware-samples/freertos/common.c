/* What every FreeRTOS lab sample shares: the firmware's own view of its tasks (what
 * uxTaskGetSystemState says, kept in RAM for the tests to read: lab_rtos_view), the
 * assert and stack overflow hooks, which record what happened and park. */
#include "FreeRTOS.h"
#include "task.h"
#include "lab_rtos.h"

TaskStatus_t lab_rtos_view[LAB_RTOS_VIEW_MAX];
volatile UBaseType_t lab_rtos_view_count;
volatile const char *lab_assert_file;
volatile unsigned long lab_assert_line;
volatile const char *lab_overflowed_task;

void lab_rtos_snapshot(void)
{
    lab_rtos_view_count = uxTaskGetSystemState(lab_rtos_view, LAB_RTOS_VIEW_MAX, NULL);
}

void lab_wait_until_parked(const TaskHandle_t *tasks, unsigned n)
{
    for (unsigned i = 0; i < n; i++) {
        while (eTaskGetState(tasks[i]) == eReady || eTaskGetState(tasks[i]) == eRunning) {
            vTaskDelay(1);
        }
    }
}

void vAssertCalled(const char *file, unsigned long line)
{
    taskDISABLE_INTERRUPTS();
    lab_assert_file = file;
    lab_assert_line = line;
    for (;;) {
    }
}

void vApplicationStackOverflowHook(TaskHandle_t task, char *name)
{
    (void)task;
    taskDISABLE_INTERRUPTS();
    lab_overflowed_task = name;
    for (;;) {
    }
}
