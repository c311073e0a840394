//! House rules checked as a test: every Rust file opens with a `//!` line
//! saying what it owns, the detector never depends on the runtime,
//! ARCHITECTURE.md names every crate, the runtime's modules form a stack,
//! the `instrument` feature is named in `backend.rs` alone, and the drivers
//! ask the analyses only through `lockgraph_detect::Analysis`.

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

/// Whether a source text names the `instrument` feature (in `cfg`,
/// `cfg_attr` or `cfg!`), however it is spaced.
fn names_the_feature(text: &str) -> bool {
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    squeezed.contains("feature=\"instrument\"")
}

/// The one switch: `crates/lockgraph/src/backend.rs` is the only file of
/// the runtime crate's sources that names the `instrument` feature. Every
/// primitive calls its facade unconditionally, so the plain and the
/// instrumented build cannot drift apart file by file. The crate's tests,
/// benches and examples may still gate on the feature.
#[test]
fn the_instrument_feature_is_named_in_the_backend_alone() {
    let src = root().join("crates/lockgraph/src");
    let mut files = Vec::new();
    rust_files(&src, &mut files);
    assert!(files.len() > 20, "found the sources: {}", files.len());
    let switch = src.join("backend.rs");
    let elsewhere: Vec<_> = files
        .iter()
        .filter(|f| **f != switch)
        .filter(|f| names_the_feature(&fs::read_to_string(f).unwrap_or_default()))
        .map(|f| f.strip_prefix(&src).unwrap_or(f).display().to_string())
        .collect();
    assert!(
        elsewhere.is_empty(),
        "the instrument feature is named outside src/backend.rs, the one switch (call its facade instead): {elsewhere:?}"
    );
    assert!(
        names_the_feature(&fs::read_to_string(&switch).expect("src/backend.rs")),
        "src/backend.rs no longer names the instrument feature: is it still the switch?"
    );
}

#[test]
fn the_feature_check_sees_any_spacing() {
    assert!(names_the_feature("#[cfg(feature = \"instrument\")]"));
    assert!(names_the_feature(
        "#[cfg_attr(not(feature=\"instrument\"), allow(x))]"
    ));
    assert!(names_the_feature("cfg!(feature\n    = \"instrument\")"));
    assert!(!names_the_feature("the `instrument` feature"));
    assert!(!names_the_feature("#[cfg(feature = \"send_guard\")]"));
}

/// The runtime's modules, bottom to top (`crates/lockgraph/src/rt/mod.rs`
/// says what each owns). A module may use only those before it.
const RT_LAYERS: [&str; 17] = [
    "config",
    "procs",
    "stack",
    "exit",
    "sink",
    "meta",
    "global",
    "reporter",
    "react",
    "local",
    "span",
    "hb",
    "wait",
    "heuristics",
    "hooks",
    "condvar",
    "sync",
];

/// The `rt` modules a source text names through `super::` (in paths and in
/// `use super::{a, b::c}` lists).
fn rt_uses(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("super::") {
        rest = &rest[i + "super::".len()..];
        if let Some(list) = rest.strip_prefix('{') {
            let end = list.find('}').unwrap_or(list.len());
            for item in list[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.push(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            out.push(name);
        }
    }
    out
}

#[test]
fn the_runtime_is_a_stack_of_layers_with_no_upward_import() {
    let dir = root().join("crates/lockgraph/src/rt");
    let mut seen = Vec::new();
    for entry in fs::read_dir(&dir).expect("rt/").flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        let Some(module) = name.strip_suffix(".rs") else {
            continue;
        };
        if module == "mod" {
            continue;
        }
        let layer = RT_LAYERS
            .iter()
            .position(|m| *m == module)
            .unwrap_or_else(|| {
                panic!("rt/{name} is in no layer: add it to RT_LAYERS in tests/tidy.rs")
            });
        seen.push(module.to_owned());
        let text = fs::read_to_string(entry.path()).expect("read");
        // Only the module's own code: its unit tests may use anything.
        let code = text.split("#[cfg(test)]").next().unwrap_or("");
        for used in rt_uses(code) {
            let Some(other) = RT_LAYERS.iter().position(|m| *m == used) else {
                continue;
            };
            assert!(
                other < layer,
                "rt/{module} uses rt/{used}, which is not below it: {RT_LAYERS:?}"
            );
        }
    }
    assert_eq!(
        seen.len(),
        RT_LAYERS.len(),
        "every layer is a module: {seen:?}"
    );
}

#[test]
fn the_layer_check_sees_an_upward_import() {
    let uses = rt_uses("use super::local::{self, Loc};\nuse super::{config, global::GLOBAL};\nlet x = super::hooks::note(e);");
    assert_eq!(uses, ["local", "config", "global", "hooks"]);
}

/// Calls a driver must not make: which analysis answers at which moment
/// is `lockgraph_detect::analysis`'s to say (`Analysis`, `Analyses`).
const ANALYSIS_CALLS: [&str; 10] = [
    "selfwait::check(",
    "selfwait::join_self(",
    "selfwait::once_self(",
    "hazard::blocking_while_holding(",
    "hazard::lock_leak(",
    "stall::deadlock_of(",
    "stall::at_exit(",
    "livelock::find(",
    ".on_acquire(",
    "warns_when_blocking(",
];

/// The lines of `text` (comments aside) that call an analysis directly.
fn direct_analysis_calls(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    code.lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .filter(|l| ANALYSIS_CALLS.iter().any(|c| l.contains(c)))
        .map(|l| l.trim().to_owned())
        .collect()
}

#[test]
fn drivers_ask_the_analyses_only_through_their_hooks() {
    let root = root();
    let mut files = Vec::new();
    rust_files(&root.join("crates/lockgraph/src"), &mut files);
    rust_files(&root.join("crates/detect/src/replay"), &mut files);
    files.push(root.join("crates/detect/src/replay.rs"));
    let mut bad = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read");
        for line in direct_analysis_calls(&text) {
            bad.push(format!("{}: {line}", f.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "a driver calls an analysis itself instead of an `on_*` hook of lockgraph_detect::Analyses:\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_hook_check_sees_a_direct_call() {
    let text = "// selfwait::check( in a comment\nlet f = selfwait::check(&req, &held);\nx.on_learn(a, out);\ng.graph.on_acquire(&a);\n#[cfg(test)]\nstall::at_exit(w);";
    assert_eq!(
        direct_analysis_calls(text),
        [
            "let f = selfwait::check(&req, &held);",
            "g.graph.on_acquire(&a);"
        ]
    );
}

/// Calls of `.on_learn(` in `text` (comments aside) whose function does
/// not call `publish_all(` before them, except in `publish_thread`, the
/// publisher itself. Returns the offending functions' names.
fn learns_before_publishing(text: &str) -> Vec<String> {
    let code = text.split("#[cfg(test)]").next().unwrap_or("");
    let code: String = code
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n");
    let mut bad = Vec::new();
    let mut rest = code.as_str();
    let mut offset = 0;
    while let Some(i) = rest.find(".on_learn(") {
        let at = offset + i;
        let before = &code[..at];
        let start = before.rfind("fn ").unwrap_or(0);
        let name: String = code[start + 3..]
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect();
        if name != "publish_thread" && !code[start..at].contains("publish_all(") {
            bad.push(name);
        }
        offset = at + ".on_learn(".len();
        rest = &code[offset..];
    }
    bad
}

#[test]
fn the_runtime_publishes_deferred_edges_before_it_learns() {
    let mut files = Vec::new();
    rust_files(&root().join("crates/lockgraph/src/rt"), &mut files);
    let mut bad = Vec::new();
    for f in &files {
        let text = fs::read_to_string(f).expect("read");
        for name in learns_before_publishing(&text) {
            bad.push(format!("{}: fn {name}", f.display()));
        }
    }
    assert!(
        bad.is_empty(),
        "the runtime learns an edge without publishing deferred ones first (a cycle through one would be missed):\n{}",
        bad.join("\n")
    );
}

#[test]
fn the_publish_check_sees_a_learn_without_publishing() {
    let text = "fn learn(g: &mut G) {\n    g.publish_all(&mut c);\n    g.analyses.on_learn(a, c);\n}\nfn sloppy(g: &mut G) {\n    // g.publish_all(&mut c);\n    g.analyses.on_learn(a, c);\n}\nfn publish_thread(&mut self) {\n    self.analyses.on_learn(a, c);\n}";
    assert_eq!(learns_before_publishing(text), ["sloppy"]);
}
