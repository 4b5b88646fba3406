//! The model alone, on a real QEMU core: the debug port, the MEM-AP, the ROM table and
//! the debug registers behave as ADIv5 and the ARMv7-M ARM define them, checked
//! through the SWD wire protocol bit by bit where the wire matters (posting, acks).

use std::path::PathBuf;

use isrscope::target::qemu::{QemuConfig, QemuTarget};
use isrscope_vprobe::core::Core;
use isrscope_vprobe::dap::{Ack, Dap};
use isrscope_vprobe::swd::Swd;

fn elf(name: &str) -> PathBuf {
    let p = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../firmware-samples/build/c").join(name);
    assert!(p.exists(), "lab firmware not built (run firmware-samples/build.sh): {}", p.display());
    p
}

/// The STM32F407 lab's busfault sample in QEMU, the modelled core halted at reset.
fn dap(name: &str) -> Dap {
    let qemu = QemuTarget::launch(&QemuConfig::new("netduinoplus2", elf(name))).unwrap();
    let mut core = Core::new(Box::new(qemu), true);
    core.hold_halted();
    Dap::new(core)
}

/// A host on the SWD wire: line reset, then packets as ADIv5 clocks them.
struct Host {
    swd: Swd,
}

impl Host {
    fn new(dap: &mut Dap) -> Host {
        let mut h = Host { swd: Swd::default() };
        for _ in 0..60 {
            h.swd.clock(dap, Some(true));
        }
        for _ in 0..4 {
            h.swd.clock(dap, Some(false));
        }
        h
    }

    fn transfer(&mut self, dap: &mut Dap, ap: bool, read: bool, a: u8, wdata: u32) -> (Ack, u32) {
        let (a2, a3) = (a >> 2 & 1 == 1, a >> 3 & 1 == 1);
        let parity = (u8::from(ap) + u8::from(read) + u8::from(a2) + u8::from(a3)) & 1 == 1;
        for bit in [true, ap, read, a2, a3, parity, false, true] {
            self.swd.clock(dap, Some(bit));
        }
        self.swd.clock(dap, None); // turnaround
        let ack: Vec<bool> = (0..3).map(|_| self.swd.clock(dap, None)).collect();
        let ack = match (ack[0], ack[1], ack[2]) {
            (true, false, false) => Ack::Ok,
            (false, true, false) => Ack::Wait,
            (false, false, true) => Ack::Fault,
            other => panic!("no valid acknowledge: {other:?}"),
        };
        let mut value = 0u32;
        if read {
            if ack == Ack::Ok {
                for i in 0..32 {
                    value |= u32::from(self.swd.clock(dap, None)) << i;
                }
                let parity = self.swd.clock(dap, None);
                assert_eq!(parity, value.count_ones() % 2 == 1, "read parity");
            }
            self.swd.clock(dap, None); // turnaround
        } else {
            self.swd.clock(dap, None); // turnaround
            if ack == Ack::Ok {
                for i in 0..32 {
                    self.swd.clock(dap, Some(wdata >> i & 1 == 1));
                }
                self.swd.clock(dap, Some(wdata.count_ones() % 2 == 1));
            }
        }
        for _ in 0..2 {
            self.swd.clock(dap, Some(false));
        }
        (ack, value)
    }
    fn dp_read(&mut self, dap: &mut Dap, a: u8) -> (Ack, u32) {
        self.transfer(dap, false, true, a, 0)
    }
    fn dp_write(&mut self, dap: &mut Dap, a: u8, v: u32) -> Ack {
        self.transfer(dap, false, false, a, v).0
    }
    fn ap_read(&mut self, dap: &mut Dap, a: u8) -> (Ack, u32) {
        self.transfer(dap, true, true, a, 0)
    }
}

#[test]
fn swd_line_reset_dpidr_power_up_and_posted_ap_reads() {
    let mut d = dap("busfault.elf");
    let mut h = Host::new(&mut d);
    assert_eq!(h.dp_read(&mut d, 0x0), (Ack::Ok, 0x2BA0_1477), "DPIDR after a line reset");
    // Power-up handshake: the acknowledges follow the requests.
    assert_eq!(h.dp_read(&mut d, 0x4).1 & 0xF000_0000, 0);
    assert_eq!(h.dp_write(&mut d, 0x4, 0x5000_0000), Ack::Ok);
    assert_eq!(h.dp_read(&mut d, 0x4).1 & 0xF000_0000, 0xF000_0000, "CSYSPWRUPACK and CDBGPWRUPACK");
    // AP 0, bank 0xF: IDR through a posted read: the first read returns the previous
    // result, RDBUFF the current one.
    assert_eq!(h.dp_write(&mut d, 0x8, 0x0000_00F0), Ack::Ok);
    let (ack, _stale) = h.ap_read(&mut d, 0xC);
    assert_eq!(ack, Ack::Ok);
    assert_eq!(h.dp_read(&mut d, 0xC), (Ack::Ok, 0x2477_0011), "IDR from RDBUFF");
    let (_, base) = { h.ap_read(&mut d, 0x8); h.dp_read(&mut d, 0xC) };
    assert_eq!(base, 0xE00F_F003, "BASE: the ROM table");
    // AP 1 does not exist: its IDR reads 0, RDBUFF too (a client's AP scan ends here;
    // a stale RDBUFF once showed AP 0's IDR for every APSEL, and probe-rs scanned 256).
    assert_eq!(h.dp_write(&mut d, 0x8, 0x0100_00F0), Ack::Ok);
    h.ap_read(&mut d, 0xC);
    assert_eq!(h.dp_read(&mut d, 0xC), (Ack::Ok, 0), "AP 1's IDR from RDBUFF");
    // A malformed request (the JTAG-to-SWD sequence) locks the port out: no answer
    // until the next line reset.
    for i in 0..16 {
        h.swd.clock(&mut d, Some(0xE79E_u16 >> i & 1 == 1));
    }
    let mut h = Host::new(&mut d);
    assert_eq!(h.dp_read(&mut d, 0x0).1, 0x2BA0_1477);
}

#[test]
fn mem_ap_sizes_auto_increment_wrap_and_sticky_errors() {
    let mut d = dap("busfault.elf");
    // Word reads of flash against QEMU's own view of it.
    let mut want = [0u8; 8];
    d.core.target().read_memory(0x0800_03F8, &mut want).unwrap();
    assert_eq!(d.ap_write(0x0, 0x2300_0012), Ack::Ok, "CSW: 32-bit, single increment");
    assert_eq!(d.ap_write(0x4, 0x0800_03F8), Ack::Ok);
    // Across a 1 KiB boundary the Cortex-M4's AHB-AP keeps incrementing...
    let w0 = d.ap_read(0xC).1;
    let w1 = d.ap_read(0xC).1;
    assert_eq!((w0.to_le_bytes(), w1.to_le_bytes()), (want[..4].try_into().unwrap(), want[4..].try_into().unwrap()));
    assert_eq!(d.ap_read(0x4).1, 0x0800_0400);
    // ...and wraps inside the 4 KiB page: 0x08000FFC + 4 is 0x08000000.
    d.ap_write(0x4, 0x0800_0FFC);
    d.ap_read(0xC);
    assert_eq!(d.ap_read(0x4).1, 0x0800_0000);
    // Bytes in their byte lanes; packed halfwords two per word.
    d.ap_write(0x0, 0x2300_0010);
    d.ap_write(0x4, 0x0800_0001);
    let mut flash = [0u8; 4];
    d.core.target().read_memory(0x0800_0000, &mut flash).unwrap();
    assert_eq!(d.ap_read(0xC).1, u32::from(flash[1]) << 8, "byte 1 in lane 1");
    d.ap_write(0x0, 0x2300_0021);
    d.ap_write(0x4, 0x0800_0000);
    assert_eq!(d.ap_read(0xC).1, u32::from_le_bytes(flash), "two packed halfwords");
    assert_eq!(d.ap_read(0x4).1, 0x0800_0004);
    // BD0-BD3 bank over TAR's 16-byte block.
    d.ap_write(0x0, 0x2300_0002);
    d.ap_write(0x4, 0x0800_0000);
    d.core.target().read_memory(0x0800_0004, &mut flash).unwrap();
    d.ap_write(0x0, 0x2300_0002);
    // (SELECT bank 1 = BD0-BD3 is at AP addresses 0x10-0x1C.)
    d.dp_write(0x8, 0x10);
    assert_eq!(d.ap_read(0x4).1, u32::from_le_bytes(flash), "BD1 = word at TAR+4");
    d.dp_write(0x8, 0x00);
    // Unmapped memory: FAULT, STICKYERR, and FAULT for every AP access until ABORT.
    d.ap_write(0x4, 0x6000_0000);
    assert_eq!(d.ap_read(0xC).0, Ack::Fault);
    assert_ne!(d.dp_read(0x4).1 & (1 << 5), 0, "STICKYERR");
    assert_eq!(d.ap_read(0x0).0, Ack::Fault, "sticky until cleared");
    assert_eq!(d.dp_write(0x0, 1 << 2), Ack::Ok, "ABORT.STKERRCLR");
    assert_eq!(d.dp_read(0x4).1 & (1 << 5), 0);
    assert_eq!(d.ap_read(0x0).0, Ack::Ok);
}

fn read(d: &mut Dap, a: u32) -> u32 {
    d.core.read(a, 4).unwrap()
}

#[test]
fn debug_registers_halt_step_run_transfer_registers_and_catch() {
    let mut d = dap("busfault.elf");
    let dhcsr = read(&mut d, 0xE000_EDF0);
    assert_ne!(dhcsr & (1 << 17), 0, "S_HALT");
    assert_ne!(dhcsr & (1 << 25), 0, "S_RESET_ST after reset");
    assert_eq!(read(&mut d, 0xE000_EDF0) & (1 << 25), 0, "S_RESET_ST clears when read");
    // DCRSR/DCRDR: PC and the packed special registers, against QEMU's gdbstub.
    let pc = d.core.target().read_register("pc").unwrap();
    d.core.write(0xE000_EDF4, 15, 4).unwrap();
    assert_ne!(read(&mut d, 0xE000_EDF0) & (1 << 16), 0, "S_REGRDY");
    assert_eq!(read(&mut d, 0xE000_EDF8), pc);
    // The packed CONTROL/FAULTMASK/BASEPRI/PRIMASK selector, against the gdbstub's
    // registers. (Writing them cannot be modelled: QEMU's gdbstub ignores writes to the
    // M-profile system registers; gdb's `set $primask=1` does nothing there either.)
    let regs = d.core.target().read_register_set(&["control", "faultmask", "basepri", "primask"]).unwrap();
    let packed = regs.get("control").unwrap() << 24 | regs.get("faultmask").unwrap() << 16
        | regs.get("basepri").unwrap() << 8 | regs.get("primask").unwrap();
    d.core.write(0xE000_EDF4, 20, 4).unwrap();
    assert_eq!(read(&mut d, 0xE000_EDF8), packed);
    // A general register written through DCRDR, read back through the gdbstub.
    d.core.write(0xE000_EDF8, 0x1234_5678, 4).unwrap();
    d.core.write(0xE000_EDF4, 7 | 1 << 16, 4).unwrap();
    assert_eq!(d.core.target().read_register("r7").unwrap(), 0x1234_5678, "R7 written through DCRSR");
    // Writes without the debug key do nothing.
    d.core.write(0xE000_EDF0, 0x0000_0001, 4).unwrap();
    assert_ne!(read(&mut d, 0xE000_EDF0) & (1 << 17), 0, "still halted");
    // A step: one instruction, halted again, DFSR.HALTED.
    d.core.write(0xE000_ED30, 0x1F, 4).unwrap();
    d.core.write(0xE000_EDF0, 0xA05F_0005, 4).unwrap();
    assert_ne!(read(&mut d, 0xE000_EDF0) & (1 << 17), 0);
    assert_ne!(d.core.target().read_register("pc").unwrap(), pc);
    assert_eq!(read(&mut d, 0xE000_ED30) & 1, 1, "DFSR.HALTED");
    // Vector catch on bus errors: run, and the core halts at BusFault_Handler's entry
    // with DFSR.VCATCH.
    d.core.write(0xE000_ED30, 0x1F, 4).unwrap();
    d.core.write(0xE000_EDFC, 1 << 8, 4).unwrap();
    d.core.write(0xE000_EDF0, 0xA05F_0001, 4).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while read(&mut d, 0xE000_EDF0) & (1 << 17) == 0 {
        assert!(std::time::Instant::now() < deadline, "no halt on the bus error");
    }
    assert_eq!(read(&mut d, 0xE000_ED30) & (1 << 3), 1 << 3, "DFSR.VCATCH");
    let ipsr = d.core.target().read_register("xpsr").unwrap() & 0x1FF;
    assert_eq!(ipsr, 5, "halted in BusFault");
    // AIRCR.SYSRESETREQ with VC_CORERESET: reset, halted at the reset vector.
    d.core.write(0xE000_EDFC, 1, 4).unwrap();
    d.core.write(0xE000_ED0C, 0x05FA_0004, 4).unwrap();
    assert_ne!(read(&mut d, 0xE000_EDF0) & (1 << 25 | 1 << 17), 0);
    let mut reset = [0u8; 4];
    d.core.target().read_memory(0x0800_0004, &mut reset).unwrap();
    assert_eq!(d.core.target().read_register("pc").unwrap(), u32::from_le_bytes(reset) & !1, "at the reset vector");
}

#[test]
fn fpb_breakpoints_halt_with_dfsr_bkpt_and_are_removed_on_disconnect() {
    let mut d = dap("busfault.elf");
    let image = isrscope::debuginfo::Image::open(elf("busfault.elf")).unwrap();
    let level2 = image.symbols().by_name("level2").unwrap().address;
    assert_eq!(read(&mut d, 0xE000_2000) & 0xF0F0, 0x0060, "FP_CTRL: 6 code comparators");
    d.core.write(0xE000_2000, 3, 4).unwrap(); // KEY | ENABLE
    d.core.write(0xE000_2008, (level2 & 0x1FFF_FFFC) | (if level2 & 2 != 0 { 2 } else { 1 }) << 30 | 1, 4).unwrap();
    d.core.write(0xE000_ED30, 0x1F, 4).unwrap();
    d.core.write(0xE000_EDF0, 0xA05F_0001, 4).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while read(&mut d, 0xE000_EDF0) & (1 << 17) == 0 {
        assert!(std::time::Instant::now() < deadline, "no halt at the breakpoint");
    }
    assert_eq!(d.core.target().read_register("pc").unwrap(), level2);
    assert_eq!(read(&mut d, 0xE000_ED30) & 2, 2, "DFSR.BKPT");
    d.core.disconnect();
    assert!(d.core.target().breakpoints().is_empty(), "no breakpoint left in QEMU");
}
