//! Shared body of the vec-* samples: run normally, call `vectors_ready` (where a live check
//! halts the core), then idle.
use core::sync::atomic::{AtomicU32, Ordering};

static SINK: AtomicU32 = AtomicU32::new(0);

#[inline(never)]
#[no_mangle]
pub fn vectors_ready() {
    SINK.fetch_add(1, Ordering::Relaxed);
}

pub fn run() -> ! {
    vectors_ready();
    fwlab::halt()
}
