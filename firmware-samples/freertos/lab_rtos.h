#ifndef LAB_RTOS_H
#define LAB_RTOS_H
#include "FreeRTOS.h"
#include "task.h"

#define LAB_RTOS_VIEW_MAX 10
extern TaskStatus_t lab_rtos_view[LAB_RTOS_VIEW_MAX];
extern volatile UBaseType_t lab_rtos_view_count;

/* Records uxTaskGetSystemState into lab_rtos_view. */
void lab_rtos_snapshot(void);

/* Sleeps a tick at a time until none of the n tasks is ready or running: each has
 * reached its wait, however slowly QEMU ran (its clock follows the host's). */
void lab_wait_until_parked(const TaskHandle_t *tasks, unsigned n);

#endif
