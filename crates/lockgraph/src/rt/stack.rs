//! Backtraces: captured as raw addresses when something new is learned, symbolized only when reported.
//!
//! Capture takes no lock. The `backtrace` crate's `Backtrace` holds one
//! process-wide lock both to capture and to symbolize, and symbolizing the
//! first time loads the debug information (hundreds of milliseconds in a
//! debug build): a thread capturing a stack while the reporter thread
//! symbolized one waited that long, which changed the schedule lockgraph
//! observes (a possible deadlock became a real one). So a stack is the
//! return addresses from the unwinder, and only symbolizing takes the lock.

use std::ffi::c_void;
use std::fmt;
use std::sync::OnceLock;

use lockgraph_detect::{Frame, Stack, StackRef};

/// How many frames a capture keeps.
const MAX_FRAMES: usize = 128;

/// A captured, lazily symbolized backtrace.
pub(crate) struct Captured {
    ips: Vec<usize>,
    frames: OnceLock<Vec<Frame>>,
}

impl fmt::Debug for Captured {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Captured(..)")
    }
}

/// Captures the current stack if backtraces are on.
pub(crate) fn capture() -> Option<StackRef> {
    if !super::config::backtraces() {
        return None;
    }
    let mut ips = Vec::with_capacity(48);
    let mut keep = |frame: &backtrace::Frame| {
        ips.push(frame.ip() as usize);
        ips.len() < MAX_FRAMES
    };
    #[cfg(unix)]
    // Safety: on unix the crate walks the stack with the system unwinder
    // (`_Unwind_Backtrace`), which is thread-safe; the crate's own lock
    // guards Windows' dbghelp and its symbolization caches, and symbolizing
    // (in `frames`) still takes it.
    unsafe {
        backtrace::trace_unsynchronized(&mut keep);
    }
    #[cfg(not(unix))]
    backtrace::trace(&mut keep);
    Some(std::sync::Arc::new(Captured {
        ips,
        frames: OnceLock::new(),
    }))
}

/// Frames of the runtime and of std that sit above the user's code: dropped from the top.
fn is_top_noise(function: &str) -> bool {
    const TOP: [&str; 9] = [
        "lockgraph::",
        "<lockgraph::",
        "lock_api::",
        "<lock_api::",
        "backtrace::",
        "std::thread::local::",
        "core::",
        "<core::",
        "std::sync::",
    ];
    TOP.iter().any(|p| function.starts_with(p))
}

/// Where the user's code ends and thread or process start-up begins: cut from here down.
fn is_bottom(function: &str) -> bool {
    const BOTTOM: [&str; 8] = [
        "std::thread::lifecycle::",
        "std::sys::",
        "std::rt::",
        "std::panic::catch_unwind",
        "std::panicking::",
        "core::ops::function::FnOnce::call_once",
        "start_thread",
        "__libc_start",
    ];
    BOTTOM.iter().any(|p| function.starts_with(p))
}

impl Stack for Captured {
    fn frames(&self) -> Vec<Frame> {
        self.frames.get_or_init(|| self.symbolize()).clone()
    }
}

impl Captured {
    fn symbolize(&self) -> Vec<Frame> {
        let mut out = Vec::new();
        for &ip in &self.ips {
            backtrace::resolve(ip as *mut c_void, |sym| {
                out.push(Frame {
                    function: sym.name().map(|n| format!("{n:#}")),
                    file: sym.filename().map(|p| p.display().to_string()),
                    line: sym.lineno(),
                    col: sym.colno(),
                });
            });
        }
        let name = |f: &Frame| f.function.clone().unwrap_or_default();
        let top = out
            .iter()
            .position(|f| !is_top_noise(&name(f)))
            .unwrap_or(0);
        out.drain(..top);
        if let Some(bottom) = out.iter().position(|f| is_bottom(&name(f))) {
            out.truncate(bottom);
        }
        out
    }
}
