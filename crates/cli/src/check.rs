//! `lockgraph check -- <command>`: the CI gate in one step, run the command recorded, then analyze what it recorded.
//!
//! The command runs with `LOCKGRAPH_TRACE` set to a fresh directory (an
//! absolute path, so every test binary `cargo test` starts in its own
//! package directory writes there) and `LOCKGRAPH_ON_FINDING=warn`, so every
//! test runs to the end and the gate sees everything. Then the traces are
//! analyzed as `lockgraph analyze` would (same flags, same baseline), and
//! the directory is removed unless `--keep-traces` says where to keep it.
//! The command's own output goes to stderr: stdout is the report's.

use std::path::PathBuf;
use std::process::Command;

use anyhow::Context;

use crate::analyze;
use crate::exit;
use crate::{AnalyzeArgs, CheckArgs};

/// Runs `args.command` recorded and returns the exit code: 1 when findings
/// at or above `--fail-on` remain (whether the command failed or not: they
/// say why), else 2 when the command could not run, failed, or recorded
/// nothing, else 0.
pub(crate) fn run(args: &CheckArgs) -> anyhow::Result<u8> {
    let (program, rest) = args
        .command
        .split_first()
        .context("no command to run: `lockgraph check -- cargo test`")?;
    let dir = match &args.keep_traces {
        Some(d) => {
            std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
            d.canonicalize()
                .with_context(|| format!("cannot resolve {}", d.display()))?
        }
        None => fresh_dir()?,
    };
    let status = Command::new(program)
        .args(rest)
        .env("LOCKGRAPH_TRACE", format!("{}/", dir.display()))
        .env("LOCKGRAPH_ON_FINDING", "warn")
        .env_remove("LOCKGRAPH")
        // Stdout is the report's (a JSON or SARIF document must stand
        // alone): the command's own output goes to stderr.
        .stdout(std::process::Stdio::from(std::io::stderr()))
        .status();
    let outcome = match status {
        Err(e) => {
            eprintln!("lockgraph check: cannot run {program:?}: {e}");
            Ok(exit::UNUSABLE)
        }
        Ok(status) => {
            let traces = analyze::expand(std::slice::from_ref(&dir)).unwrap_or_default();
            if traces.is_empty() {
                eprintln!(
                    "lockgraph check: {program:?} recorded no trace: does it use lockgraph's primitives (and was it built with the `instrument` feature)?"
                );
                Ok(exit::UNUSABLE)
            } else {
                let code = analyze::run(&AnalyzeArgs {
                    traces: vec![dir.clone()],
                    format: args.format,
                    fail_on: args.fail_on.clone(),
                    baseline: args.baseline.clone(),
                    no_baseline: args.no_baseline,
                    color: args.color,
                    no_snippets: args.no_snippets,
                });
                match code {
                    Ok(c) if !status.success() && c != exit::FINDINGS => {
                        eprintln!(
                            "lockgraph check: the command failed ({status}), with no finding to explain it"
                        );
                        Ok(exit::UNUSABLE)
                    }
                    Ok(c) => {
                        if !status.success() {
                            eprintln!("lockgraph check: the command failed too ({status})");
                        }
                        Ok(c)
                    }
                    Err(e) => Err(e),
                }
            }
        }
    };
    if args.keep_traces.is_none() {
        let _ = std::fs::remove_dir_all(&dir);
    } else {
        eprintln!("lockgraph check: traces kept in {}", dir.display());
    }
    outcome
}

/// A new, empty directory of this run's own under the system's temp dir.
fn fresh_dir() -> anyhow::Result<PathBuf> {
    let base = std::env::temp_dir();
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_nanos());
    for n in 0..100u32 {
        let dir = base.join(format!(
            "lockgraph-check-{}-{stamp}-{n}",
            std::process::id()
        ));
        match std::fs::create_dir(&dir) {
            Ok(()) => return Ok(dir),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(e).with_context(|| format!("cannot create {}", dir.display())),
        }
    }
    anyhow::bail!("cannot create a fresh directory under {}", base.display())
}
