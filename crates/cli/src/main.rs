//! The `lockgraph` command line: a thin shell over the detect and report crates.

use clap::{Parser, Subcommand};
use lockgraph_detect::Kind;

/// Deadlock and race detection for Rust: inspect what lockgraph reports.
#[derive(Parser)]
#[command(name = "lockgraph", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// List the finding kinds, their JSON names and default severities.
    Kinds,
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Kinds => {
            for k in Kind::ALL {
                println!(
                    "{:<24} {:<8} {}",
                    k.as_str(),
                    k.default_severity().as_str(),
                    k.describe()
                );
            }
        }
    }
    Ok(())
}
