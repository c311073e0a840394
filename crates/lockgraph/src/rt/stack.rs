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

/// Whether a frame belongs to machinery the user did not write: this crate's
/// runtime, lock_api, the backtrace crate, std's thread start-up.
fn is_noise(function: &str) -> bool {
    const NOISE: [&str; 9] = [
        "lockgraph::rt::",
        "lockgraph::raw::",
        "backtrace::",
        "lock_api::",
        "std::sys::",
        "std::rt::",
        "core::ops::function::",
        "std::panicking::",
        "__rust_",
    ];
    NOISE.iter().any(|n| function.contains(n))
}

impl Stack for Captured {
    fn frames(&self) -> Vec<Frame> {
        let mut bt = self.0.lock();
        bt.resolve();
        let mut out = Vec::new();
        for frame in bt.frames() {
            for sym in frame.symbols() {
                let function = sym.name().map(|n| format!("{n:#}"));
                if function.as_deref().is_some_and(is_noise) {
                    continue;
                }
                out.push(Frame {
                    function,
                    file: sym.filename().map(|p| p.display().to_string()),
                    line: sym.lineno(),
                    col: sym.colno(),
                });
            }
        }
        // Drop the thread start-up frames below the user's entry point.
        while out.last().is_some_and(|f| f.function.is_none()) {
            out.pop();
        }
        out
    }
}
