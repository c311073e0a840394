//! Baselines: findings a team has accepted, by fingerprint, each with a reason.
//!
//! An entry may name either fingerprint of a finding; the stable one
//! (`stable_fingerprint` in JSON, "stable across line moves" in text)
//! survives edits that only move lines, so it is the one to write down.
//!
//! ```toml
//! [[accept]]
//! fingerprint = "eebe1e8523127737"
//! reason = "legacy report path, tracked in #42"
//! ```

use std::path::{Path, PathBuf};

use anyhow::{bail, Context};
use serde::Deserialize;

/// One accepted finding.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Entry {
    pub(crate) fingerprint: String,
    pub(crate) reason: String,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    accept: Vec<Entry>,
}

/// The baseline file in effect, if any: `--baseline`, else ./lockgraph.toml.
pub(crate) fn locate(explicit: Option<&Path>, disabled: bool) -> Option<PathBuf> {
    if disabled {
        return None;
    }
    match explicit {
        Some(p) => Some(p.to_path_buf()),
        None => Some(PathBuf::from("lockgraph.toml")).filter(|p| p.is_file()),
    }
}

/// Reads and checks a baseline.
pub(crate) fn load(path: &Path) -> anyhow::Result<Vec<Entry>> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("{}: cannot read the baseline", path.display()))?;
    let file: File = toml::from_str(&text)
        .map_err(|e| anyhow::anyhow!("{}: not a valid baseline: {e}", path.display()))?;
    for (i, e) in file.accept.iter().enumerate() {
        if e.fingerprint.len() != 16 || !e.fingerprint.chars().all(|c| c.is_ascii_hexdigit()) {
            bail!(
                "{}: entry {} fingerprint {:?} is not 16 hex digits",
                path.display(),
                i + 1,
                e.fingerprint
            );
        }
        if e.reason.trim().is_empty() {
            bail!(
                "{}: entry {} ({}) has no reason: say why the finding is accepted",
                path.display(),
                i + 1,
                e.fingerprint
            );
        }
    }
    Ok(file.accept)
}
