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
    "Exit codes: 0 clean, 1 findings at or above --fail-on remain, 2 the input could not be used. A closed stdout (`| head`) changes none of them.";

/// What a write to stdout came to. A reader that went away (a broken pipe:
/// `lockgraph analyze ... | head`) is no error: the rest is not written and
/// the exit code still says what was found. Any other failure is.
pub(crate) fn written(result: std::io::Result<()>) -> anyhow::Result<()> {
    match result {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(anyhow::Error::new(e).context("cannot write the report to stdout")),
        Ok(()) => Ok(()),
    }
}
