//! The vector checks with plain values: lab ELFs patched byte by byte for the defects
//! no sample has (an SP outside RAM, a handler in RAM data, a reserved entry in use, a
//! misplaced table), and hand-made live data for target states QEMU cannot be put in
//! (PRIMASK/BASEPRI set by the firmware, a stale flash at the ELF's own address, VTOR
//! pointing at another image). No QEMU: these run in milliseconds.

mod common;

use isrscope::debuginfo::Image;
use isrscope::model::nvic::{Masks, NvicTables};
use isrscope::model::regs::ScbBlock;
use isrscope::report::Severity;
use isrscope::vectors::flash::{FlashCheck, FlashMode, SectionCheck};
use isrscope::vectors::live::LiveData;
use isrscope::vectors::livecheck::Placement;
use isrscope::vectors::svd::DeviceIrqs;
use isrscope::vectors::{self, Options, Status, VectorReport};

const GOOD: &str = "firmware-samples/build/c/vectors-good.elf";
/// File offset of .isr_vector in the C samples (readelf -S: 0x1000), its address.
const TABLE_OFFSET: usize = 0x1000;
const TABLE: u32 = 0x0800_0000;

fn bytes() -> Vec<u8> {
    std::fs::read(common::repo_root().join(GOOD)).unwrap()
}

fn patch_word(elf: &mut [u8], index: usize, value: u32) {
    let at = TABLE_OFFSET + 4 * index;
    elf[at..at + 4].copy_from_slice(&value.to_le_bytes());
}

fn static_report(elf: Vec<u8>) -> VectorReport {
    let image = Image::from_bytes(elf).unwrap();
    vectors::analyze(&image, &Options::default(), None)
}

fn notable(r: &VectorReport) -> Vec<&str> {
    r.codes_at_least(Severity::Warning)
}

fn message<'a>(r: &'a VectorReport, code: &str) -> &'a str {
    &r.findings.iter().find(|f| f.code == code).unwrap_or_else(|| panic!("no {code}: {:#?}", r.findings)).message
}

#[test]
fn the_unpatched_sample_is_clean() {
    let r = static_report(bytes());
    assert!(notable(&r).is_empty(), "{:#?}", r.findings);
    assert_eq!(r.entries.len(), 98);
    assert_eq!(r.entries[3].symbol.as_deref(), Some("HardFault_Handler"));
    assert_eq!(r.entries[3].status, Status::Ok);
    assert_eq!(r.entries[15].status, Status::DefaultHandler);
    assert_eq!(r.entries[8].status, Status::Reserved);
}

#[test]
fn an_initial_sp_outside_ram_is_an_error() {
    let mut elf = bytes();
    patch_word(&mut elf, 0, 0x3000_0000);
    let r = static_report(elf);
    assert_eq!(notable(&r), ["initial-sp-outside-ram"]);
    assert!(message(&r, "initial-sp-outside-ram").contains("0x30000000"));
}

#[test]
fn a_handler_in_ram_data_is_outside_code() {
    let mut elf = bytes();
    patch_word(&mut elf, 5, 0x2000_0101);
    let r = static_report(elf);
    assert_eq!(notable(&r), ["vector-outside-code"]);
    assert_eq!(r.entries[5].problems, ["vector-outside-code"]);
}

#[test]
fn a_reserved_entry_in_use_and_a_missing_hardfault_handler() {
    let mut elf = bytes();
    patch_word(&mut elf, 9, 0x0800_0189);
    patch_word(&mut elf, 3, 0);
    let r = static_report(elf);
    assert_eq!(notable(&r), ["reserved-vector-nonzero", "vector-zero-handler"]);
    let sev = |c: &str| r.findings.iter().find(|f| f.code == c).unwrap().severity;
    assert_eq!(sev("reserved-vector-nonzero"), Severity::Warning);
    assert_eq!(sev("vector-zero-handler"), Severity::Error);
}

#[test]
fn one_problem_per_defect_of_one_entry() {
    let mut elf = bytes();
    // Even, and 2 bytes into Reset_Handler.
    let reset = u32::from_le_bytes(elf[TABLE_OFFSET + 4..TABLE_OFFSET + 8].try_into().unwrap()) & !1;
    patch_word(&mut elf, 1, reset + 2);
    let r = static_report(elf);
    assert_eq!(r.entries[1].problems, ["vector-missing-thumb-bit", "vector-not-function-start"]);
    assert_eq!(r.entries[1].symbol.as_deref(), Some("Reset_Handler+0x2"));
}

/// Moves .isr_vector's section header address: the table is then found at `address`.
fn move_table(elf: &mut [u8], address: u32) {
    let word = |b: &[u8], at: usize| u32::from_le_bytes(b[at..at + 4].try_into().unwrap()) as usize;
    let half = |b: &[u8], at: usize| u16::from_le_bytes(b[at..at + 2].try_into().unwrap()) as usize;
    let (shoff, shentsize, shnum, shstrndx) = (word(elf, 32), half(elf, 46), half(elf, 48), half(elf, 50));
    let strtab = word(elf, shoff + shstrndx * shentsize + 16);
    for i in 0..shnum {
        let h = shoff + i * shentsize;
        let name_at = strtab + word(elf, h);
        if elf[name_at..].starts_with(b".isr_vector\0") {
            elf[h + 12..h + 16].copy_from_slice(&address.to_le_bytes());
            return;
        }
    }
    panic!("no .isr_vector");
}

#[test]
fn a_table_placed_where_vtor_cannot_point() {
    let mut elf = bytes();
    move_table(&mut elf, 0x0800_0100);
    let r = static_report(elf);
    assert!(notable(&r).contains(&"vtor-misaligned"), "{:#?}", r.findings);
    let m = message(&r, "vtor-misaligned");
    assert!(m.contains("512-byte") && m.contains("0x08000000"), "{m}");
}

#[test]
fn svd_names_the_irqs_and_says_when_the_table_is_short() {
    let image = Image::open(common::repo_root().join(GOOD)).unwrap();
    let svd = DeviceIrqs::from_pairs("STM32F407", [(28, "TIM2".to_string()), (0, "WWDG".to_string()), (90, "LATE".to_string())]);
    let r = vectors::analyze(&image, &Options { svd: Some(svd) }, None);
    assert_eq!(r.entries[16 + 28].name, "TIM2");
    assert_eq!(r.entries[16 + 28].name_source, "svd");
    assert_eq!(r.entries[16 + 1].name, "IRQ1");
    assert_eq!(notable(&r), ["vector-table-short"]);
}

// ---- live data made by hand ----

fn live_over(table: &[u32], vtor: u32) -> LiveData {
    let mut scb = [0u8; 64];
    scb[0..4].copy_from_slice(&0x410F_C241u32.to_le_bytes()); // Cortex-M4 r0p1
    scb[8..12].copy_from_slice(&vtor.to_le_bytes());
    scb[12..16].copy_from_slice(&0xFA05_0000u32.to_le_bytes());
    LiveData {
        description: "hand-made".into(),
        scb: ScbBlock::from_bytes(&scb),
        table: Some(table.to_vec()),
        masks: Some(Masks::default()),
        irq_count: 82,
        nvic: Some(NvicTables { iser: vec![0; 3], ispr: vec![0; 3], iabr: vec![0; 3], ipr: vec![0; 84] }),
        ..LiveData::default()
    }
}

fn live_report(live: &LiveData) -> VectorReport {
    let image = Image::open(common::repo_root().join(GOOD)).unwrap();
    vectors::analyze(&image, &Options::default(), Some(live))
}

fn elf_words() -> Vec<u32> {
    Image::open(common::repo_root().join(GOOD)).unwrap().vector_table().unwrap().words.clone()
}

#[test]
fn the_elfs_own_table_differing_in_flash_is_stale_flash() {
    let mut words = elf_words();
    words[3] = 0x0800_0189; // Default_Handler: a valid word, just not this build's
    let r = live_report(&live_over(&words, TABLE));
    assert_eq!(notable(&r), ["vector-table-mismatch"]);
    let f = r.findings.iter().find(|f| f.code == "vector-table-mismatch").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("stale flash") && f.message.contains("HardFault (entry 3)"), "{}", f.message);
    assert_eq!(r.live.unwrap().placement, Some(Placement::ElfTable));
}

#[test]
fn vtor_at_another_flash_table_is_unexpected() {
    let r = live_report(&live_over(&[0x2002_0000, 0x0800_4001, 0x0800_4003], 0x0800_4000));
    let f = r.findings.iter().find(|f| f.code == "vector-table-mismatch").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("unexpected"), "{}", f.message);
}

#[test]
fn the_boot_alias_showing_another_image_is_stale_flash_or_boot_pins() {
    let mut words = elf_words();
    words[1] = 0x1FFF_0001; // a system-memory bootloader
    let r = live_report(&live_over(&words, 0));
    let f = r.findings.iter().find(|f| f.code == "vector-table-mismatch").unwrap();
    assert_eq!(f.severity, Severity::Error);
    assert!(f.message.contains("BOOT pins"), "{}", f.message);
    assert_eq!(r.live.unwrap().placement, Some(Placement::BootAlias));
}

#[test]
fn an_identical_ram_copy_is_only_information() {
    let r = live_report(&live_over(&elf_words(), 0x2000_0200));
    assert!(notable(&r).is_empty(), "{:#?}", r.findings);
    assert!(r.findings.iter().any(|f| f.code == "vector-table-relocated"));
}

#[test]
fn pending_irqs_held_by_primask_or_basepri_are_warnings_and_enabled_default_ones_errors() {
    let mut live = live_over(&elf_words(), 0);
    let nvic = live.nvic.as_mut().unwrap();
    nvic.iser[0] = 1 << 5;
    nvic.ispr[0] = 1 << 5;
    nvic.ipr[5] = 0x80;
    live.masks = Some(Masks { primask: true, faultmask: false, basepri: 0 });
    let r = live_report(&live);
    assert_eq!(notable(&r), ["irq-enabled-default-handler", "irq-pending-blocked"]);
    assert!(message(&r, "irq-pending-blocked").contains("PRIMASK"));

    live.masks = Some(Masks { primask: false, faultmask: false, basepri: 0x40 });
    let r = live_report(&live);
    assert!(message(&r, "irq-pending-blocked").contains("BASEPRI 0x40"), "{:#?}", r.findings);
}

#[test]
fn an_enabled_irq_without_a_vector_is_an_error() {
    let mut words = elf_words();
    words[16 + 7] = 0;
    let mut live = live_over(&words, 0x2000_0000);
    live.nvic.as_mut().unwrap().iser[0] = 1 << 7;
    let r = live_report(&live);
    assert!(message(&r, "irq-enabled-bad-vector").contains("vector is 0"));
}

#[test]
fn a_flash_difference_says_the_elf_does_not_match_what_is_flashed() {
    let mut live = live_over(&elf_words(), 0);
    live.flash = Some(FlashCheck {
        mode: FlashMode::Sample,
        total_bytes: 0x10_0000,
        compared_bytes: 0x4000,
        sections: vec![SectionCheck {
            name: ".text".into(),
            load_address: 0x0800_0188,
            size: 0xF_0000,
            compared: 0x4000,
            crc_elf: 1,
            crc_target: 2,
            first_difference: Some(0x0800_2000),
            differing_bytes: 12,
            unreadable: None,
        }],
    });
    let r = live_report(&live);
    assert_eq!(notable(&r), ["flash-mismatch"]);
    let m = message(&r, "flash-mismatch");
    assert!(m.contains("does not match what is flashed") && m.contains("sampled") && m.contains(".text differs at 0x08002000"), "{m}");
}

/// Renames the first symbol called `from` to `to` (not longer) in the string table.
fn rename_symbol(elf: &mut [u8], from: &str, to: &str) {
    assert!(to.len() <= from.len());
    let needle = format!("\0{from}\0");
    let at = elf.windows(needle.len()).position(|w| w == needle.as_bytes()).expect("symbol name") + 1;
    elf[at..at + from.len()].fill(0);
    elf[at..at + to.len()].copy_from_slice(to.as_bytes());
}

#[test]
fn under_an_rtos_pendsv_must_be_the_least_urgent_and_syscall_priorities_are_said() {
    let mut elf = bytes();
    rename_symbol(&mut elf, "CAN1_RX0_IRQHandler", "vTaskSwitchContext");
    let image = Image::from_bytes(elf).unwrap();
    let mut live = live_over(&image.vector_table().unwrap().words, 0);
    let nvic = live.nvic.as_mut().unwrap();
    nvic.iser[0] = (1 << 5) | (1 << 6);
    nvic.ipr[5] = 0xF0;
    nvic.ipr[6] = 0x20;
    live.rtos_max_syscall = Some(0x50);
    // PendSV at 0x80 (SHPR3 byte 2): IRQ5 at 0xF0 is less urgent than the context switch.
    let mut scb = [0u8; 64];
    scb[0..4].copy_from_slice(&0x410F_C241u32.to_le_bytes());
    scb[0x20..0x24].copy_from_slice(&0x0080_0000u32.to_le_bytes());
    live.scb = ScbBlock::from_bytes(&scb);
    let r = vectors::analyze(&image, &Options::default(), Some(&live));
    let rtos: Vec<_> = r.findings.iter().filter(|f| f.code == "rtos-priority").collect();
    assert_eq!(rtos.len(), 2, "{:#?}", r.findings);
    assert_eq!(rtos[0].severity, Severity::Warning);
    assert!(rtos[0].message.contains("FreeRTOS") && rtos[0].message.contains("IRQ5 (0xf0)") && !rtos[0].message.contains("IRQ6"), "{}", rtos[0].message);
    assert_eq!(rtos[1].severity, Severity::Info);
    assert!(rtos[1].message.contains("IRQ6 (0x20)") && rtos[1].message.contains("FromISR"), "{}", rtos[1].message);

    // Without an RTOS, priorities are the firmware's business.
    let r = live_report(&live);
    assert!(r.findings.iter().all(|f| f.code != "rtos-priority"));
}

#[test]
fn vtor_at_unreadable_memory_is_an_error() {
    let mut live = live_over(&[], 0x6000_0000);
    live.table = None;
    live.table_error = Some("memory at 0x60000000 (392 bytes) cannot be read: E14".into());
    let r = live_report(&live);
    let m = message(&r, "vector-table-mismatch");
    assert!(m.contains("cannot be read") && m.contains("0x60000000"), "{m}");
    assert!(r.has_errors());
}
