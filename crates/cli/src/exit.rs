//! Exit codes, the contract a CI gate relies on.

/// Nothing at or above `--fail-on` was found (after the baseline).
pub(crate) const CLEAN: u8 = 0;
/// Findings at or above `--fail-on` remain.
pub(crate) const FINDINGS: u8 = 1;
/// The input could not be used: no trace, an unreadable or malformed trace,
/// a bad baseline, bad flags.
pub(crate) const UNUSABLE: u8 = 2;

/// The exit codes, as `--help` shows them.
pub(crate) const HELP: &str =
    "Exit codes: 0 clean, 1 findings at or above --fail-on remain, 2 the input could not be used.";
