/* The lab's FreeRTOS configuration (FreeRTOS-Kernel V11.2.0, GCC ports ARM_CM4F and
 * ARM_CM3). Chosen to exercise what a debugger must read: the trace facility (the
 * firmware's own uxTaskGetSystemState view), a queue registry, stack overflow checking
 * (method 2: stacks filled with 0xA5), mutexes with priority inheritance. isrscope reads
 * the kernel's structure layouts from DWARF, not from these settings. */
#ifndef FREERTOS_CONFIG_H
#define FREERTOS_CONFIG_H

#include <stdint.h>

#define configUSE_PREEMPTION                    1
#define configUSE_PORT_OPTIMISED_TASK_SELECTION 0
#ifndef configCPU_CLOCK_HZ
#define configCPU_CLOCK_HZ                      168000000u /* netduinoplus2: SYSCLK 168 MHz */
#endif
#define configTICK_RATE_HZ                      1000u
#define configMAX_PRIORITIES                    6
#define configMINIMAL_STACK_SIZE                128
#define configMAX_TASK_NAME_LEN                 12
#define configTICK_TYPE_WIDTH_IN_BITS           TICK_TYPE_WIDTH_32_BITS
#define configIDLE_SHOULD_YIELD                 1
#define configUSE_MUTEXES                       1
#define configUSE_TASK_NOTIFICATIONS            1
#define configUSE_RECURSIVE_MUTEXES             0
#define configUSE_COUNTING_SEMAPHORES           1
#define configQUEUE_REGISTRY_SIZE               8
#define configUSE_TRACE_FACILITY                1
#define configUSE_STATS_FORMATTING_FUNCTIONS    0
/* Overridable: rtos-stack-overflow-uncaught builds without the check, as much
 * production firmware is. */
#ifndef configCHECK_FOR_STACK_OVERFLOW
#define configCHECK_FOR_STACK_OVERFLOW          2
#endif
#define configUSE_MALLOC_FAILED_HOOK            0
#define configUSE_IDLE_HOOK                     0
#define configUSE_TICK_HOOK                     0
#define configUSE_TIMERS                        0
#define configSUPPORT_DYNAMIC_ALLOCATION        1
#define configSUPPORT_STATIC_ALLOCATION         0
#define configTOTAL_HEAP_SIZE                   (40u * 1024u)
#define configENABLE_BACKWARD_COMPATIBILITY     0

/* The ARMv8-M ports (ARM_CM33_NTZ on mps2-an505): FPU on, no MPU, no TrustZone, and
 * the kernel runs in the Secure state QEMU starts the core in. */
#define configENABLE_FPU                        1
#define configENABLE_MPU                        0
#define configENABLE_TRUSTZONE                  0
#define configRUN_FREERTOS_SECURE_ONLY          1

/* Cortex-M interrupt priorities: 4 bits on the STM32F4, 8 on QEMU's MPS2 boards (the
 * port checks this against the hardware). */
#ifndef configPRIO_BITS
#define configPRIO_BITS                         4
#endif
#define configKERNEL_INTERRUPT_PRIORITY         (((1u << configPRIO_BITS) - 1u) << (8 - configPRIO_BITS))
#define configMAX_SYSCALL_INTERRUPT_PRIORITY    0x50u /* 5 of 16 on the STM32F4; its low bit clear, as the port asks with 8 bits */

#define INCLUDE_vTaskPrioritySet                1
#define INCLUDE_uxTaskPriorityGet               1
#define INCLUDE_vTaskDelete                     1
#define INCLUDE_vTaskSuspend                    1
#define INCLUDE_vTaskDelay                      1
#define INCLUDE_vTaskDelayUntil                 1
#define INCLUDE_xTaskGetCurrentTaskHandle       1
#define INCLUDE_uxTaskGetStackHighWaterMark     1
#define INCLUDE_xTaskGetSchedulerState          1
#define INCLUDE_eTaskGetState                   1

/* A failed configASSERT calls vAssertCalled (the FreeRTOS demos' name and signature),
 * which records where and parks. */
void vAssertCalled(const char *file, unsigned long line);
#define configASSERT(x) do { if (!(x)) { vAssertCalled(__FILE__, __LINE__); } } while (0)

/* The port's handlers under the names of the lab's vector table. */
#define vPortSVCHandler     SVC_Handler
#define xPortPendSVHandler  PendSV_Handler
#define xPortSysTickHandler SysTick_Handler

#endif
