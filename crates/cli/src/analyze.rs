//! `lockgraph analyze`: read traces, replay them, apply the baseline, render, choose the exit code.

use std::fs::File;
use std::io::{BufReader, IsTerminal, Write};
use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use indicatif::{ProgressBar, ProgressStyle};
use lockgraph_detect::replay::Analyzer;
use lockgraph_detect::trace::TraceReader;
use lockgraph_detect::{Finding, Kind, Severity};
use lockgraph_report::{Accepted, Document, Format, Stale};

use crate::{baseline, exit, AnalyzeArgs};

/// What fails the run.
#[derive(Debug, PartialEq, Eq)]
enum FailOn {
    Severity(Severity),
    Never,
    Kinds(Vec<Kind>),
}

impl FailOn {
    fn parse(s: &str) -> anyhow::Result<Self> {
        match s.trim() {
            "error" => Ok(FailOn::Severity(Severity::Error)),
            "warning" => Ok(FailOn::Severity(Severity::Warning)),
            "never" | "none" => Ok(FailOn::Never),
            list => {
                let mut kinds = Vec::new();
                for name in list.split(',').map(str::trim) {
                    match Kind::ALL.iter().find(|k| k.as_str() == name) {
                        Some(k) => kinds.push(*k),
                        None => bail!(
                            "--fail-on {name:?}: expected error, warning, never or kinds among {}",
                            Kind::ALL.map(Kind::as_str).join(", ")
                        ),
                    }
                }
                Ok(FailOn::Kinds(kinds))
            }
        }
    }

    fn fails(&self, f: &Finding) -> bool {
        match self {
            FailOn::Severity(s) => f.severity >= *s,
            FailOn::Never => false,
            FailOn::Kinds(k) => k.contains(&f.kind),
        }
    }
}

/// Every trace file named by the arguments, in a stable order.
pub(crate) fn expand(paths: &[PathBuf]) -> anyhow::Result<Vec<PathBuf>> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) -> anyhow::Result<()> {
        let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
            .with_context(|| format!("{}: cannot list the directory", dir.display()))?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .collect();
        entries.sort();
        for p in entries {
            if p.is_dir() {
                walk(&p, out)?;
            } else if p.extension().is_some_and(|e| e == "jsonl") {
                out.push(p);
            }
        }
        Ok(())
    }
    let mut out = Vec::new();
    for p in paths {
        if p.is_dir() {
            let before = out.len();
            walk(p, &mut out)?;
            if out.len() == before {
                bail!("{}: no *.jsonl trace in this directory", p.display());
            }
        } else if p.exists() {
            out.push(p.clone());
        } else {
            bail!("{}: no such file or directory", p.display());
        }
    }
    Ok(out)
}

/// Runs the analysis; the exit code, or an error meaning "unusable input".
pub(crate) fn run(args: &AnalyzeArgs) -> anyhow::Result<u8> {
    let fail_on = FailOn::parse(&args.fail_on)?;
    let baseline_path = baseline::locate(args.baseline.as_deref(), args.no_baseline);
    let accepted_entries = match &baseline_path {
        Some(p) => baseline::load(p)?,
        None => Vec::new(),
    };
    let files = expand(&args.traces)?;
    let total: u64 = files
        .iter()
        .filter_map(|f| f.metadata().ok())
        .map(|m| m.len())
        .sum();
    let progress = if std::io::stderr().is_terminal() {
        let bar = ProgressBar::new(total);
        bar.set_style(
            ProgressStyle::with_template("{spinner} {bytes}/{total_bytes} {wide_bar} {eta} {msg}")
                .unwrap_or_else(|_| ProgressStyle::default_bar()),
        );
        bar
    } else {
        ProgressBar::hidden()
    };

    let mut analyzer = Analyzer::new();
    let mut warnings = Vec::new();
    let mut done_bytes = 0u64;
    for file in &files {
        let name = file.display().to_string();
        progress.set_message(name.clone());
        let reader = File::open(file).with_context(|| format!("{name}: cannot open"))?;
        let mut records = TraceReader::new(BufReader::with_capacity(1 << 16, reader), name.clone());
        let mut replay = analyzer.trace(name.clone());
        let mut n = 0u64;
        while let Some(record) = records.next() {
            replay.record(record?);
            n += 1;
            if n % 65_536 == 0 {
                progress.set_position(done_bytes + records.bytes_read());
            }
        }
        done_bytes += records.bytes_read();
        replay.finish();
        warnings.extend(records.warnings().iter().cloned());
    }
    progress.finish_and_clear();
    for w in &warnings {
        eprintln!("lockgraph: warning: {w}");
    }

    let lock_order = analyzer.lock_order();
    let (all, stats) = analyzer.finish();
    let mut doc = Document {
        stats,
        warnings,
        baseline: baseline_path.clone(),
        lock_order,
        ..Document::default()
    };
    let mut used = vec![false; accepted_entries.len()];
    // Without snippets no source is read: sites are anchored by line.
    let stable = lockgraph_report::stable_fingerprints(&all, !args.no_snippets);
    for (mut f, stable) in all.into_iter().zip(stable) {
        let (fp, sfp) = (f.fingerprint.to_string(), stable.to_string());
        // A baseline entry may name either fingerprint.
        if let Some(i) = accepted_entries.iter().position(|e| {
            e.fingerprint.eq_ignore_ascii_case(&fp) || e.fingerprint.eq_ignore_ascii_case(&sfp)
        }) {
            used[i] = true;
            doc.accepted.push(Accepted {
                fingerprint: f.fingerprint,
                stable_fingerprint: stable,
                kind: f.kind,
                reason: accepted_entries[i].reason.clone(),
            });
        } else {
            f.resolve_stacks();
            doc.findings.push(f);
            doc.stable.push(stable);
        }
    }
    for (e, used) in accepted_entries.iter().zip(used) {
        if !used {
            doc.stale_baseline.push(Stale {
                fingerprint: e.fingerprint.clone(),
                reason: e.reason.clone(),
            });
        }
    }

    let mut stdout = std::io::stdout().lock();
    let color = args.color.enabled(stdout.is_terminal());
    let written = match args.format {
        Format::Text => lockgraph_report::text::write_styled(
            &doc,
            &mut stdout,
            lockgraph_report::text::Style {
                color,
                snippets: !args.no_snippets,
            },
        ),
        other => other.write(&doc, &mut stdout),
    }
    .and_then(|()| stdout.flush());
    drop(stdout);
    crate::exit::written(written)?;
    for s in &doc.stale_baseline {
        eprintln!(
            "lockgraph: warning: baseline entry {} ({}) matched no finding: remove it from {}",
            s.fingerprint,
            s.reason,
            baseline_path
                .as_deref()
                .map_or("the baseline".into(), |p| p.display().to_string())
        );
    }
    Ok(if doc.findings.iter().any(|f| fail_on.fails(f)) {
        exit::FINDINGS
    } else {
        exit::CLEAN
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fail_on_parses_levels_and_kinds() {
        assert_eq!(
            FailOn::parse("error").unwrap(),
            FailOn::Severity(Severity::Error)
        );
        assert_eq!(FailOn::parse("never").unwrap(), FailOn::Never);
        assert_eq!(
            FailOn::parse("lock_order_cycle, deadlock").unwrap(),
            FailOn::Kinds(vec![Kind::LockOrderCycle, Kind::Deadlock])
        );
        let e = FailOn::parse("cycles").unwrap_err().to_string();
        assert!(e.contains("--fail-on \"cycles\""), "{e}");
    }
}
