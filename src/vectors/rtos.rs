//! RTOS priority rules that can be seen from outside the firmware: which RTOS is
//! linked in (by its symbols), the PendSV priority against the enabled IRQs, and
//! FreeRTOS's syscall priority ceiling.

use crate::model::exception::ExceptionNumber;
use crate::model::nvic::PriorityGrouping;
use crate::report::{Finding, Severity};

use super::codemap::CodeMap;
use super::code;
use super::live::LiveData;
use super::livecheck::LiveIrq;

/// Symbols that say which RTOS schedules with PendSV.
const RTOS_MARKERS: &[(&str, &str)] = &[
    ("vTaskSwitchContext", "FreeRTOS"),
    ("z_arm_pendsv", "Zephyr"),
    ("_tx_thread_schedule", "ThreadX"),
    ("osRtxInfo", "CMSIS-RTX"),
    ("rt_hw_context_switch", "RT-Thread"),
];

/// The RTOS rules that can be seen from outside: PendSV (the context switch) must be the
/// least urgent enabled exception, and (FreeRTOS, where port.c keeps
/// `ucMaxSysCallPriority`) an IRQ more urgent than configMAX_SYSCALL_INTERRUPT_PRIORITY
/// must not call the RTOS.
pub fn check(map: &CodeMap, live: &LiveData, irqs: &[LiveIrq], findings: &mut Vec<Finding>) {
    let symbols = map.image().symbols();
    let Some((_, rtos)) = RTOS_MARKERS.iter().find(|(s, _)| symbols.by_name(s).is_some()) else { return };
    let Some(scb) = live.scb else { return };
    let grouping = PriorityGrouping::new(((scb.aircr >> 8) & 7) as u8);
    let pendsv = scb.system_priority(ExceptionNumber::PENDSV.0).map(|p| grouping.group(p));
    if let Some(pendsv) = pendsv {
        let below: Vec<String> = irqs
            .iter()
            .filter(|q| q.enabled && grouping.group(q.priority) > pendsv)
            .map(|q| format!("{} ({:#04x})", q.name, q.priority))
            .collect();
        if !below.is_empty() {
            findings.push(Finding::new(
                code::RTOS_PRIORITY,
                Severity::Warning,
                format!(
                    "{rtos}: PendSV (the context switch) has priority {pendsv:#04x}, more urgent than enabled {}: a context switch can preempt those handlers; {rtos} needs PendSV at the lowest priority",
                    below.join(", ")
                ),
            ));
        }
    }
    if let Some(max) = live.rtos_max_syscall.filter(|&m| m != 0) {
        let above: Vec<String> = irqs
            .iter()
            .filter(|q| q.enabled && grouping.group(q.priority) < grouping.group(max))
            .map(|q| format!("{} ({:#04x})", q.name, q.priority))
            .collect();
        if !above.is_empty() {
            findings.push(Finding::new(
                code::RTOS_PRIORITY,
                Severity::Info,
                format!(
                    "{rtos}: {} run above configMAX_SYSCALL_INTERRUPT_PRIORITY ({max:#04x}): BASEPRI does not mask them, so they must not call any ...FromISR function",
                    above.join(", ")
                ),
            ));
        }
    }
}
