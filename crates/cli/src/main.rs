//! The `lockgraph` command line: typed flags, then the detect and report crates do the work.

mod analyze;
mod baseline;
mod check;
mod exit;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::builder::{PossibleValue, PossibleValuesParser, TypedValueParser};
use clap::{Parser, Subcommand};
use lockgraph_detect::Kind;
use lockgraph_report::Format;

/// Deadlock and race detection for Rust: analyze recorded traces, gate CI.
#[derive(Parser)]
#[command(name = "lockgraph", version, about, after_help = exit::HELP)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Analyze traces recorded with LOCKGRAPH_TRACE: the live detector's
    /// findings, deadlocks visible only at the end, and lock-order cycles
    /// that span several traces (test 1 takes A then B, test 2 B then A).
    Analyze(AnalyzeArgs),
    /// Run a command (`-- cargo test`) with every process it starts
    /// recorded into a fresh directory (reaction `warn`, so every test runs
    /// to the end), then analyze what it recorded, as `analyze` does.
    Check(CheckArgs),
    /// List the finding kinds, their JSON names and default severities.
    Kinds,
}

/// Flags of `lockgraph analyze`.
#[derive(clap::Args, Debug)]
pub(crate) struct AnalyzeArgs {
    /// Trace files, or directories of them (every *.jsonl inside, recursively).
    #[arg(required = true)]
    pub(crate) traces: Vec<PathBuf>,
    /// Output format.
    #[arg(long, default_value_t = Format::Text, value_parser = formats())]
    pub(crate) format: Format,
    /// What fails the run (exit 1): `error` (the default), `warning`, `never`,
    /// or a comma-separated list of kinds such as `lock_order_cycle,deadlock`.
    #[arg(long, default_value = "error")]
    pub(crate) fail_on: String,
    /// A baseline of accepted findings (default: ./lockgraph.toml if it exists).
    #[arg(long, conflicts_with = "no_baseline")]
    pub(crate) baseline: Option<PathBuf>,
    /// Ignore ./lockgraph.toml.
    #[arg(long)]
    pub(crate) no_baseline: bool,
    /// Colour in the text report: `auto` (on a terminal, unless NO_COLOR
    /// is set), `always`, `never`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Read no source file: no source lines under the steps of the text
    /// report, and stable fingerprints anchor sites by line number.
    #[arg(long)]
    pub(crate) no_snippets: bool,
}

/// When the text report is coloured.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub(crate) enum ColorChoice {
    /// On a terminal, unless the NO_COLOR variable is set (no-color.org).
    Auto,
    /// Always.
    Always,
    /// Never.
    Never,
}

impl ColorChoice {
    /// Whether to colour output going to a terminal (`terminal`) or not.
    pub(crate) fn enabled(self, terminal: bool) -> bool {
        match self {
            ColorChoice::Always => true,
            ColorChoice::Never => false,
            ColorChoice::Auto => {
                terminal && std::env::var_os("NO_COLOR").map_or(true, |v| v.is_empty())
            }
        }
    }
}

/// Flags of `lockgraph check`.
#[derive(clap::Args, Debug)]
pub(crate) struct CheckArgs {
    /// Output format.
    #[arg(long, default_value_t = Format::Text, value_parser = formats())]
    pub(crate) format: Format,
    /// What fails the run (exit 1), as for `analyze`.
    #[arg(long, default_value = "error")]
    pub(crate) fail_on: String,
    /// A baseline of accepted findings (default: ./lockgraph.toml if it exists).
    #[arg(long, conflicts_with = "no_baseline")]
    pub(crate) baseline: Option<PathBuf>,
    /// Ignore ./lockgraph.toml.
    #[arg(long)]
    pub(crate) no_baseline: bool,
    /// Colour in the text report, as for `analyze`.
    #[arg(long, value_enum, default_value_t = ColorChoice::Auto)]
    pub(crate) color: ColorChoice,
    /// Read no source file: no source lines under the steps of the text
    /// report, and stable fingerprints anchor sites by line number.
    #[arg(long)]
    pub(crate) no_snippets: bool,
    /// Keep the traces in this directory instead of a temporary one.
    #[arg(long)]
    pub(crate) keep_traces: Option<PathBuf>,
    /// The command to run, after `--`: `lockgraph check -- cargo test`.
    #[arg(last = true, required = true)]
    pub(crate) command: Vec<String>,
}

/// Parses `--format`: the report crate's formats, each with its help line.
fn formats() -> impl TypedValueParser<Value = Format> {
    PossibleValuesParser::new(Format::ALL.map(|f| PossibleValue::new(f.name()).help(f.describe())))
        .try_map(|name| name.parse::<Format>())
}

fn main() -> ExitCode {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            return ExitCode::from(if e.use_stderr() {
                exit::UNUSABLE
            } else {
                exit::CLEAN
            });
        }
    };
    match cli.command {
        Command::Kinds => {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            let written = Kind::ALL.iter().try_for_each(|k| {
                writeln!(
                    out,
                    "{:<24} {:<8} {}",
                    k.as_str(),
                    k.default_severity().as_str(),
                    k.describe()
                )
            });
            match exit::written(written.and_then(|()| out.flush())) {
                Ok(()) => ExitCode::from(exit::CLEAN),
                Err(e) => {
                    eprintln!("lockgraph: error: {e:#}");
                    ExitCode::from(exit::UNUSABLE)
                }
            }
        }
        Command::Check(args) => match check::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("lockgraph: error: {e:#}");
                ExitCode::from(exit::UNUSABLE)
            }
        },
        Command::Analyze(args) => match analyze::run(&args) {
            Ok(code) => ExitCode::from(code),
            Err(e) => {
                eprintln!("lockgraph: error: {e:#}");
                ExitCode::from(exit::UNUSABLE)
            }
        },
    }
}
