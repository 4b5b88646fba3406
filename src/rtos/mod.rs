//! RTOS awareness: the tasks an RTOS kernel holds, read from the kernel's own data
//! with layouts from DWARF. FreeRTOS first (docs/rtos.md).

pub mod freertos;

pub use freertos::{Task, TaskList, TaskStack, TaskState};
