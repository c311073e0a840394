//! Settings: environment first (`LOCKGRAPH`, `LOCKGRAPH_ON_FINDING`, `LOCKGRAPH_BACKTRACE`, `LOCKGRAPH_STALL_GRACE`), API second.

use std::sync::atomic::{AtomicU64, AtomicU8, Ordering};
use std::time::Duration;

/// What the runtime does when it finds something.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OnFinding {
    /// Panic with the report for errors (warnings are printed): a test fails at
    /// the line that caused the finding. The default.
    Panic,
    /// Print the report to stderr and emit a `tracing` warning; the program goes on.
    Warn,
    /// Record the finding (see [`crate::findings`]) and say nothing.
    Off,
}

impl OnFinding {
    fn parse(s: &str) -> Option<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "panic" => Some(OnFinding::Panic),
            "warn" => Some(OnFinding::Warn),
            "off" | "none" | "record" => Some(OnFinding::Off),
            _ => None,
        }
    }
}

const UNSET: u8 = 0;
const ON: u8 = 1;
const OFF: u8 = 2;

static ENABLED: AtomicU8 = AtomicU8::new(UNSET);
static ON_FINDING: AtomicU8 = AtomicU8::new(UNSET);
static BACKTRACES: AtomicU8 = AtomicU8::new(UNSET);

fn env_flag(var: &str) -> Option<bool> {
    let v = std::env::var(var).ok()?;
    match v.trim().to_ascii_lowercase().as_str() {
        "0" | "off" | "false" | "no" => Some(false),
        "" | "1" | "on" | "true" | "yes" => Some(true),
        other => {
            eprintln!("lockgraph: ignoring {var}={other:?}: expected on or off");
            None
        }
    }
}

/// Whether detection runs. `LOCKGRAPH=off` turns it off for the whole process.
#[inline(always)]
pub(crate) fn enabled() -> bool {
    match ENABLED.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => init_enabled(),
    }
}

#[cold]
fn init_enabled() -> bool {
    let on = env_flag("LOCKGRAPH").unwrap_or(true);
    let _ = ENABLED.compare_exchange(
        UNSET,
        if on { ON } else { OFF },
        Ordering::Relaxed,
        Ordering::Relaxed,
    );
    ENABLED.load(Ordering::Relaxed) == ON
}

/// Turns detection on or off at run time (the API twin of `LOCKGRAPH=off`).
///
/// Locks acquired while detection was off are unknown to it, so switch it
/// before the threads under test start, not while they hold locks.
pub fn set_enabled(on: bool) {
    ENABLED.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

fn encode(o: OnFinding) -> u8 {
    match o {
        OnFinding::Panic => 1,
        OnFinding::Warn => 2,
        OnFinding::Off => 3,
    }
}

/// The current reaction to findings.
pub fn on_finding() -> OnFinding {
    match ON_FINDING.load(Ordering::Relaxed) {
        1 => OnFinding::Panic,
        2 => OnFinding::Warn,
        3 => OnFinding::Off,
        _ => {
            let from_env = std::env::var("LOCKGRAPH_ON_FINDING").ok().and_then(|v| {
                let parsed = OnFinding::parse(&v);
                if parsed.is_none() {
                    eprintln!("lockgraph: ignoring LOCKGRAPH_ON_FINDING={v:?}: expected panic, warn or off");
                }
                parsed
            });
            let o = from_env.unwrap_or(OnFinding::Panic);
            let _ =
                ON_FINDING.compare_exchange(UNSET, encode(o), Ordering::Relaxed, Ordering::Relaxed);
            on_finding()
        }
    }
}

/// Sets the reaction to findings (the API twin of `LOCKGRAPH_ON_FINDING`).
pub fn set_on_finding(o: OnFinding) {
    ON_FINDING.store(encode(o), Ordering::Relaxed);
}

/// Whether to capture a backtrace the first time a lock-order edge is seen
/// at a new pair of sites. `LOCKGRAPH_BACKTRACE=off` saves the cost.
pub(crate) fn backtraces() -> bool {
    match BACKTRACES.load(Ordering::Relaxed) {
        ON => true,
        OFF => false,
        _ => {
            let on = env_flag("LOCKGRAPH_BACKTRACE").unwrap_or(true);
            BACKTRACES.store(if on { ON } else { OFF }, Ordering::Relaxed);
            on
        }
    }
}

/// Turns backtrace capture on or off (the API twin of `LOCKGRAPH_BACKTRACE`).
pub fn set_backtraces(on: bool) {
    BACKTRACES.store(if on { ON } else { OFF }, Ordering::Relaxed);
}

/// The default [`stall_grace`]: see `docs/heuristics.md`, *Threads
/// lockgraph does not know*, for why 3 s.
pub const DEFAULT_STALL_GRACE: Duration = Duration::from_secs(3);

/// `u64::MAX`: not read from the environment yet.
static STALL_GRACE_MS: AtomicU64 = AtomicU64::new(u64::MAX);

/// Parses `3`, `2.5`, `3s`, `500ms` (a bare number is seconds).
fn parse_duration(s: &str) -> Option<Duration> {
    let s = s.trim().to_ascii_lowercase();
    let (num, scale) = if let Some(n) = s.strip_suffix("ms") {
        (n, 0.001)
    } else if let Some(n) = s.strip_suffix('s') {
        (n, 1.0)
    } else {
        (s.as_str(), 1.0)
    };
    let v: f64 = num.trim().parse().ok()?;
    (v.is_finite() && v >= 0.0 && v * scale < 86_400.0).then(|| Duration::from_secs_f64(v * scale))
}

/// How long a stall is held back for threads lockgraph does not know that
/// are asleep or in a timed wait (they might still wake and end it) before
/// it is reported anyway. Running unknown threads hold it back for as long
/// as they run. `LOCKGRAPH_STALL_GRACE` (`3`, `2.5s`, `500ms`) sets it.
pub fn stall_grace() -> Duration {
    match STALL_GRACE_MS.load(Ordering::Relaxed) {
        u64::MAX => {
            let grace = std::env::var("LOCKGRAPH_STALL_GRACE")
                .ok()
                .and_then(|v| {
                    let parsed = parse_duration(&v);
                    if parsed.is_none() {
                        eprintln!("lockgraph: ignoring LOCKGRAPH_STALL_GRACE={v:?}: expected a duration such as 3s or 500ms");
                    }
                    parsed
                })
                .unwrap_or(DEFAULT_STALL_GRACE);
            set_stall_grace(grace);
            grace
        }
        ms => Duration::from_millis(ms),
    }
}

/// Sets [`stall_grace`] (the API twin of `LOCKGRAPH_STALL_GRACE`).
pub fn set_stall_grace(grace: Duration) {
    let ms = u64::try_from(grace.as_millis()).unwrap_or(u64::MAX - 1);
    STALL_GRACE_MS.store(ms.min(u64::MAX - 1), Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_durations() {
        assert_eq!(parse_duration("3"), Some(Duration::from_secs(3)));
        assert_eq!(parse_duration(" 2.5s "), Some(Duration::from_millis(2500)));
        assert_eq!(parse_duration("500ms"), Some(Duration::from_millis(500)));
        assert_eq!(parse_duration("0"), Some(Duration::ZERO));
        assert_eq!(parse_duration("soon"), None);
        assert_eq!(parse_duration("-1"), None);
        assert_eq!(parse_duration("1e30"), None);
    }

    #[test]
    fn parses_reactions() {
        assert_eq!(OnFinding::parse("panic"), Some(OnFinding::Panic));
        assert_eq!(OnFinding::parse(" WARN "), Some(OnFinding::Warn));
        assert_eq!(OnFinding::parse("off"), Some(OnFinding::Off));
        assert_eq!(OnFinding::parse("loud"), None);
    }
}
