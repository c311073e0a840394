//! Shared by the lockgraph benches: finding criterion's output directory and reading back the estimates of this run.
//!
//! `overhead.rs` and `recording.rs` include it with `mod common;`. It is a
//! directory module (`common/mod.rs`) so that cargo does not take it for a
//! bench target of its own.

use std::path::{Path, PathBuf};
use std::time::SystemTime;

/// The directories criterion may have written to, in criterion's own order of preference.
///
/// `CRITERION_HOME` if set, then `$CARGO_TARGET_DIR/criterion`, then the
/// workspace's `target/criterion`.
pub(crate) fn criterion_dirs() -> Vec<PathBuf> {
    let mut dirs = Vec::new();
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        dirs.push(PathBuf::from(home));
    }
    if let Some(target) = std::env::var_os("CARGO_TARGET_DIR") {
        dirs.push(PathBuf::from(target).join("criterion"));
    }
    dirs.push(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../target")
            .join("criterion"),
    );
    dirs
}

/// The mean time (ns) criterion estimated for `group/bench` in this run, if it measured it.
///
/// Read from `<dir>/<group>/<bench>/new/estimates.json` in the first of
/// [`criterion_dirs`] that has it. Estimates older than `since` are left
/// out: they are from an earlier run (say, this one was filtered) and would
/// give a ratio of unrelated numbers.
pub(crate) fn mean_ns(group: &str, bench: &str, since: SystemTime) -> Option<f64> {
    // Criterion names the directories after the ids made filename-safe; ours already are.
    criterion_dirs().iter().find_map(|dir| {
        let path = dir
            .join(group)
            .join(bench)
            .join("new")
            .join("estimates.json");
        let modified = std::fs::metadata(&path).ok()?.modified().ok()?;
        if modified < since {
            return None;
        }
        let text = std::fs::read_to_string(&path).ok()?;
        let json: serde_json::Value = serde_json::from_str(&text).ok()?;
        json.get("mean")?.get("point_estimate")?.as_f64()
    })
}
