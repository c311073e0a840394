//! Backtraces: captured as raw addresses when something new is learned, symbolized only when reported.

use std::fmt;

use lockgraph_detect::{Frame, Stack, StackRef};
use parking_lot::Mutex;

/// A captured, lazily resolved backtrace.
pub(crate) struct Captured(Mutex<backtrace::Backtrace>);

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
    Some(std::sync::Arc::new(Captured(Mutex::new(
        backtrace::Backtrace::new_unresolved(),
    ))))
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
        let mut bt = self.0.lock();
        bt.resolve();
        let mut out = Vec::new();
        for frame in bt.frames() {
            for sym in frame.symbols() {
                out.push(Frame {
                    function: sym.name().map(|n| format!("{n:#}")),
                    file: sym.filename().map(|p| p.display().to_string()),
                    line: sym.lineno(),
                    col: sym.colno(),
                });
            }
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
