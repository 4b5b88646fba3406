//! Shared by the debuginfo_* and unwind_* tests: builds the fixture ELFs with
//! arm-none-eabi-gcc (failing when it is missing) and provides an in-memory target
//! whose memory and registers a test lays out word by word.
#![allow(dead_code)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use isrscope::debuginfo::Image;
use isrscope::target::*;

const ARM_GCC: &str = "arm-none-eabi-gcc";
pub const DIR: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/unwind_support");

pub fn have_toolchain() -> bool {
    Command::new(ARM_GCC).arg("--version").output().is_ok_and(|o| o.status.success())
}

/// Compiles `sources` (relative to this directory) with `flags` into an ELF under the
/// cargo test temp dir. The test command installs the cross compiler (scripts/setup.sh):
/// without it the test fails rather than passing without having run.
pub fn build(name: &str, sources: &[&str], flags: &[&str]) -> Option<PathBuf> {
    assert!(have_toolchain(), "{ARM_GCC} not found: run scripts/setup.sh");
    let out = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("{name}.elf"));
    let mut cmd = Command::new(ARM_GCC);
    cmd.args(["-mcpu=cortex-m4", "-mthumb", "-nostdlib", "-ffreestanding"])
        .args(flags)
        .arg("-T")
        .arg(Path::new(DIR).join("fixture.ld"));
    for s in sources {
        cmd.arg(Path::new(DIR).join(s));
    }
    cmd.arg("-o").arg(&out);
    let o = cmd.output().expect("run arm-none-eabi-gcc");
    assert!(o.status.success(), "building {name} failed: {}", String::from_utf8_lossy(&o.stderr));
    Some(out)
}

/// The hand-written assembly fixture (explicit prologues and CFI).
pub fn asm_fixture() -> Option<&'static Path> {
    static P: OnceLock<Option<PathBuf>> = OnceLock::new();
    P.get_or_init(|| build("fixture-asm", &["fixture.S"], &["-g"])).as_deref()
}

/// The assembly fixture with its CFI in `.eh_frame` instead of `.debug_frame`.
pub fn asm_fixture_eh_frame() -> Option<&'static Path> {
    static P: OnceLock<Option<PathBuf>> = OnceLock::new();
    P.get_or_init(|| build("fixture-asm-eh-frame", &["fixture.S"], &["-g", "-DFIXTURE_EH_FRAME"])).as_deref()
}

/// The same without any debug info (no .debug_frame, no .debug_info).
pub fn asm_fixture_nodebug() -> Option<&'static Path> {
    static P: OnceLock<Option<PathBuf>> = OnceLock::new();
    P.get_or_init(|| {
        let full = build("fixture-asm-for-strip", &["fixture.S"], &["-g"])?;
        let out = full.with_file_name("fixture-asm-nodebug.elf");
        let o = Command::new("arm-none-eabi-objcopy").arg("--strip-debug").arg(&full).arg(&out).output().ok()?;
        assert!(o.status.success(), "objcopy: {}", String::from_utf8_lossy(&o.stderr));
        Some(out)
    })
    .as_deref()
}

/// A C fixture with inlining, -O1 -g, hard float.
pub fn c_fixture() -> Option<&'static Path> {
    static P: OnceLock<Option<PathBuf>> = OnceLock::new();
    P.get_or_init(|| {
        build(
            "fixture-c",
            &["fixture.c"],
            &["-g", "-O1", "-mfloat-abi=hard", "-mfpu=fpv4-sp-d16", "-lgcc"],
        )
    })
    .as_deref()
}

pub fn sym(image: &Image, name: &str) -> u32 {
    image.symbols().by_name(name).unwrap_or_else(|| panic!("no symbol {name}")).address
}

/// A target made of memory blocks and a register file. Reads outside every block
/// fail like unmapped memory on a real core.
pub struct MemTarget {
    pub blocks: BTreeMap<u32, Vec<u8>>,
    pub regs: Registers,
    pub caps: Capabilities,
    pub reads: usize,
    /// Bytes asked for by all reads, failed ones included (the link's cost).
    pub bytes_read: usize,
}

impl MemTarget {
    pub fn new() -> Self {
        MemTarget {
            blocks: BTreeMap::new(),
            regs: Registers::new(),
            caps: Capabilities { max_read: 0x800, description: "in-memory test target".into(), ..Default::default() },
            reads: 0,
            bytes_read: 0,
        }
    }

    /// Adds (or overwrites with) a zeroed block `[start, start + len)`.
    pub fn map(&mut self, start: u32, len: u32) {
        self.blocks.insert(start, vec![0; len as usize]);
    }

    pub fn write_u32(&mut self, address: u32, value: u32) {
        let (start, b) = self
            .blocks
            .range_mut(..=address)
            .next_back()
            .unwrap_or_else(|| panic!("{address:#x} not mapped"));
        let off = (address - start) as usize;
        b[off..off + 4].copy_from_slice(&value.to_le_bytes());
    }

    pub fn set(&mut self, name: &str, value: u32) {
        self.regs.insert(name, value);
    }
}

impl Target for MemTarget {
    fn capabilities(&self) -> &Capabilities {
        &self.caps
    }
    fn read_memory(&mut self, address: u32, buf: &mut [u8]) -> Result<()> {
        self.reads += 1;
        self.bytes_read += buf.len();
        let fail = || TargetError::MemoryUnreadable { address, len: buf.len(), message: "unmapped".into() };
        let Some((start, b)) = self.blocks.range(..=address).next_back() else { return Err(fail()) };
        let off = (address - start) as usize;
        let Some(src) = b.get(off..off + buf.len()) else { return Err(fail()) };
        buf.copy_from_slice(src);
        Ok(())
    }
    fn write_memory(&mut self, address: u32, data: &[u8]) -> Result<()> {
        for (i, c) in data.chunks(4).enumerate() {
            let mut w = [0u8; 4];
            w[..c.len()].copy_from_slice(c);
            self.write_u32(address + 4 * i as u32, u32::from_le_bytes(w));
        }
        Ok(())
    }
    fn read_registers(&mut self) -> Result<Registers> {
        Ok(self.regs.clone())
    }
    fn write_register(&mut self, name: &str, value: u32) -> Result<()> {
        self.regs.insert(name, value);
        Ok(())
    }
    fn halt(&mut self, _: Duration) -> Result<StopReason> {
        Ok(StopReason::Requested)
    }
    fn resume(&mut self) -> Result<()> {
        Err(TargetError::Unsupported("resume".into()))
    }
    fn step(&mut self) -> Result<StopReason> {
        Err(TargetError::Unsupported("step".into()))
    }
    fn state(&mut self) -> Result<CoreState> {
        Ok(CoreState::Halted { reason: StopReason::Requested })
    }
    fn wait_for_stop(&mut self, _: Duration) -> Result<Option<StopReason>> {
        Ok(Some(StopReason::Requested))
    }
    fn set_breakpoint(&mut self, _: u32, _: BreakpointKind) -> Result<()> {
        Err(TargetError::Unsupported("breakpoints".into()))
    }
    fn clear_breakpoint(&mut self, _: u32) -> Result<()> {
        Ok(())
    }
    fn breakpoints(&self) -> Vec<u32> {
        Vec::new()
    }
    fn detach(&mut self, _: bool) -> Result<()> {
        Ok(())
    }
}

/// Lays out a descending stack: `push` writes words below the current SP, the first
/// word of the slice at the lowest address (like PUSH and exception stacking).
pub struct Stack {
    pub sp: u32,
}

impl Stack {
    pub fn new(top: u32) -> Self {
        Stack { sp: top }
    }
    pub fn push(&mut self, t: &mut MemTarget, words: &[u32]) -> u32 {
        self.sp -= 4 * words.len() as u32;
        for (i, w) in words.iter().enumerate() {
            t.write_u32(self.sp + 4 * i as u32, *w);
        }
        self.sp
    }
    pub fn reserve(&mut self, bytes: u32) -> u32 {
        self.sp -= bytes;
        self.sp
    }
}
