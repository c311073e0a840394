//! House rules checked as a test: every Rust file opens with a `//!` line
//! saying what it owns, the detector never depends on the runtime, and
//! ARCHITECTURE.md names every crate.

use std::fs;
use std::path::{Path, PathBuf};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("workspace root")
        .to_path_buf()
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() && name != "target" && !name.starts_with('.') {
            rust_files(&p, out);
        } else if name.ends_with(".rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_rust_file_opens_with_a_module_doc_line() {
    let mut files = Vec::new();
    rust_files(&root().join("crates"), &mut files);
    rust_files(&root().join("tests"), &mut files);
    assert!(files.len() > 20, "found the sources: {}", files.len());
    let missing: Vec<_> = files
        .iter()
        .filter(|f| {
            let text = fs::read_to_string(f).unwrap_or_default();
            !text.lines().next().unwrap_or("").starts_with("//!")
        })
        .collect();
    assert!(
        missing.is_empty(),
        "files without a `//!` first line: {missing:?}"
    );
}

#[test]
fn dependencies_point_one_way() {
    for krate in ["detect", "report"] {
        let manifest = fs::read_to_string(root().join("crates").join(krate).join("Cargo.toml"))
            .expect("manifest");
        let deps = manifest.split("[dependencies]").nth(1).unwrap_or("");
        assert!(
            !deps.contains("\nlockgraph ")
                && !deps.contains("\nlockgraph.")
                && !deps.contains("\nlockgraph="),
            "crates/{krate} must not depend on the runtime"
        );
        if krate == "detect" {
            assert!(
                !deps.contains("lockgraph-report"),
                "detect must not depend on report"
            );
        }
    }
}

#[test]
fn architecture_names_every_crate() {
    let arch = fs::read_to_string(root().join("ARCHITECTURE.md")).expect("ARCHITECTURE.md");
    for krate in [
        "crates/detect",
        "crates/report",
        "crates/lockgraph",
        "crates/cli",
        "tests/",
    ] {
        assert!(
            arch.contains(krate),
            "ARCHITECTURE.md has no section for {krate}"
        );
    }
}
