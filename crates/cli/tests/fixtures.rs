//! End to end: the `lockgraph` binary on recorded and hand-written traces,
//! compared with golden reports, and on bad input, checked for the error a
//! user sees and the exit code. Regenerate the goldens with `fixtures/regen.sh`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

fn lockgraph(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .args(args)
        .current_dir(root())
        .output()
        .expect("run lockgraph")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

/// Compares (or, with UPDATE_FIXTURES=1, writes) a golden file.
fn golden(path: &Path, actual: &str) {
    if std::env::var_os("UPDATE_FIXTURES").is_some() {
        std::fs::create_dir_all(path.parent().expect("parent")).expect("expected dir");
        std::fs::write(path, actual).expect("write golden");
        return;
    }
    let expected = std::fs::read_to_string(path)
        .unwrap_or_else(|_| panic!("{} missing: run fixtures/regen.sh", path.display()));
    assert_eq!(
        actual,
        expected,
        "{} differs; if deliberate, run fixtures/regen.sh",
        path.display()
    );
}

/// `analyze` a fixture both ways and check both goldens; the text golden
/// starts with the exit code.
fn check(traces: &[&str], golden_stem: &Path) {
    // Without snippets: a golden must not change when a scenario's source
    // is edited after its trace was recorded.
    let mut args = vec!["analyze", "--no-baseline", "--no-snippets"];
    args.extend_from_slice(traces);
    let out = lockgraph(&args);
    let code = out.status.code().expect("exited");
    assert!(
        code == 0 || code == 1,
        "{traces:?}: exit {code}; stderr:\n{}",
        text(&out.stderr)
    );
    golden(
        &golden_stem.with_extension("txt"),
        &format!("exit: {code}\n{}", text(&out.stdout)),
    );
    let mut json_args = args.clone();
    json_args.extend_from_slice(&["--format", "json"]);
    let out_json = lockgraph(&json_args);
    assert_eq!(out_json.status.code(), Some(code), "same exit code in JSON");
    let doc: serde_json::Value = serde_json::from_slice(&out_json.stdout).expect("valid JSON");
    assert_eq!(doc["version"], 1);
    golden(&golden_stem.with_extension("json"), &text(&out_json.stdout));
    let mut sarif_args = args.clone();
    sarif_args.extend_from_slice(&["--format", "sarif"]);
    let out_sarif = lockgraph(&sarif_args);
    assert_eq!(
        out_sarif.status.code(),
        Some(code),
        "same exit code in SARIF"
    );
    let log: serde_json::Value = serde_json::from_slice(&out_sarif.stdout).expect("valid JSON");
    assert_valid_sarif(&log, golden_stem);
    assert_eq!(
        log["runs"][0]["results"].as_array().map(Vec::len),
        doc["findings"].as_array().map(Vec::len),
        "one result per finding"
    );
    golden(
        &golden_stem.with_extension("sarif"),
        &text(&out_sarif.stdout),
    );
    let mut dot_args = args.clone();
    dot_args.extend_from_slice(&["--format", "dot"]);
    let out_dot = lockgraph(&dot_args);
    assert_eq!(out_dot.status.code(), Some(code), "same exit code in DOT");
    assert_graphviz_reads(&text(&out_dot.stdout), golden_stem);
    golden(&golden_stem.with_extension("dot"), &text(&out_dot.stdout));
    let mut html_args = args.clone();
    html_args.extend_from_slice(&["--format", "html"]);
    let out_html = lockgraph(&html_args);
    assert_eq!(out_html.status.code(), Some(code), "same exit code in HTML");
    let page = text(&out_html.stdout);
    assert!(page.starts_with("<!DOCTYPE html>") && page.ends_with("</html>\n"));
    golden(&golden_stem.with_extension("html"), &page);
}

/// Checks that Graphviz's `dot` lays out a DOT text. Graphviz is installed
/// by `.ci/run`; without it (outside CI) the check is skipped, said on stderr.
fn assert_graphviz_reads(dot: &str, what: &Path) {
    use std::io::Write as _;
    let child = Command::new("dot")
        .arg("-Tsvg")
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn();
    let mut child = match child {
        Ok(c) => c,
        Err(e) => {
            assert!(
                std::env::var_os("CI").is_none(),
                "Graphviz's dot is missing in CI ({e}): .ci/run installs it"
            );
            eprintln!("skipping the Graphviz check of {}: {e}", what.display());
            return;
        }
    };
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(dot.as_bytes())
        .expect("feed dot");
    let out = child.wait_with_output().expect("dot ran");
    assert!(
        out.status.success(),
        "{}: dot refused the graph: {}\n{dot}",
        what.display(),
        text(&out.stderr)
    );
}

/// Checks a SARIF log against the published SARIF 2.1.0 schema
/// (`crates/report/tests/data`, from the OASIS sarif-spec repository).
fn assert_valid_sarif(log: &serde_json::Value, what: &Path) {
    static SCHEMA: std::sync::OnceLock<jsonschema::Validator> = std::sync::OnceLock::new();
    let validator = SCHEMA.get_or_init(|| {
        let text = std::fs::read_to_string(
            root().join("crates/report/tests/data/sarif-schema-2.1.0.json"),
        )
        .expect("the SARIF schema");
        let schema: serde_json::Value = serde_json::from_str(&text).expect("schema is JSON");
        jsonschema::draft4::new(&schema).expect("the schema compiles")
    });
    let errors: Vec<String> = validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path))
        .collect();
    assert!(
        errors.is_empty(),
        "{}: invalid SARIF: {errors:#?}",
        what.display()
    );
}

#[test]
fn every_recorded_scenario_matches_its_golden_report() {
    let dir = root().join("fixtures/scenarios");
    let mut traces: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/scenarios")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
        .collect();
    traces.sort();
    assert!(
        traces.len() >= 20,
        "the scenarios were recorded: {}",
        traces.len()
    );
    let goldens = root().join("fixtures/expected");
    std::fs::create_dir_all(&goldens).expect("expected dir");
    for t in &traces {
        let rel = format!(
            "fixtures/scenarios/{}",
            t.file_name().unwrap().to_string_lossy()
        );
        check(&[&rel], &goldens.join(t.file_stem().unwrap()));
    }
}

#[test]
fn buggy_scenarios_fail_the_gate_and_twins_pass_it() {
    for (stem, code) in [
        ("s03_ab_ba_at_the_same_time_is_deadlock", 1),
        ("s04_ab_then_ba_is_lock_order_cycle", 1),
        ("s01_relock_is_self_deadlock", 1),
        ("s04_twin_both_take_a_first_is_silent", 0),
        ("s05_gate_lock_makes_inversion_silent", 0),
        ("s18_read_read_inversion_without_writers_is_silent", 0),
    ] {
        let out = lockgraph(&[
            "analyze",
            "--no-baseline",
            &format!("fixtures/scenarios/{stem}.jsonl"),
        ]);
        assert_eq!(
            out.status.code(),
            Some(code),
            "{stem}: {}",
            text(&out.stdout)
        );
    }
}

#[test]
fn halves_recorded_in_two_processes_are_a_cycle_across_runs() {
    let a = "fixtures/scenarios/cross_run_half_config_then_cache_is_silent_alone.jsonl";
    let b = "fixtures/scenarios/cross_run_half_cache_then_config_is_silent_alone.jsonl";
    assert_eq!(
        lockgraph(&["analyze", "--no-baseline", a]).status.code(),
        Some(0)
    );
    assert_eq!(
        lockgraph(&["analyze", "--no-baseline", b]).status.code(),
        Some(0)
    );
    let out = lockgraph(&["analyze", "--no-baseline", a, b]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("lock_order_cycle (error): across runs:"),
        "{stdout}"
    );
    assert!(stdout.contains("spans 2 traces"), "{stdout}");
    check(&[a, b], &root().join("fixtures/expected/cross-run"));
}

#[test]
fn a_hand_written_trace_stands_on_its_own() {
    let out = lockgraph(&[
        "analyze",
        "--no-baseline",
        "fixtures/handwritten/python-shim.jsonl",
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.starts_with("deadlock (error): 2 threads are blocked on each other"),
        "{stdout}"
    );
    assert!(
        stdout.contains("thread \"teller-1\"")
            && stdout.contains("Mutex \"ledger\"")
            && stdout.contains("bank.py:21:9"),
        "{stdout}"
    );
    check(
        &["fixtures/handwritten/python-shim.jsonl"],
        &root().join("fixtures/expected/python-shim"),
    );
}

fn bad(name: &str, content: &[u8]) -> (i32, String, String) {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("bad-traces");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, content).unwrap();
    let out = lockgraph(&["analyze", "--no-baseline", path.to_str().unwrap()]);
    (
        out.status.code().unwrap_or(-1),
        text(&out.stdout),
        text(&out.stderr),
    )
}

const HEADER: &str = "{\"lockgraph_trace\":1,\"program\":\"p\",\"pid\":1,\"start_unix_ms\":0}\n";

#[test]
fn bad_input_is_exit_2_with_file_and_line() {
    let (code, _, err) = bad("empty.jsonl", b"");
    assert_eq!(code, 2);
    assert!(
        err.contains("empty.jsonl: empty trace: no header line"),
        "{err}"
    );

    let (code, _, err) = bad("notes.jsonl", b"meeting notes\n");
    assert_eq!(code, 2);
    assert!(
        err.contains("notes.jsonl:1: not a lockgraph trace"),
        "{err}"
    );

    let (code, _, err) = bad(
        "v9.jsonl",
        b"{\"lockgraph_trace\":9,\"program\":\"p\",\"pid\":1,\"start_unix_ms\":0}\n",
    );
    assert_eq!(code, 2);
    assert!(
        err.contains(
            "v9.jsonl:1: unsupported trace format version 9; this lockgraph reads version 1"
        ),
        "{err}"
    );

    let corrupt =
        format!("{HEADER}{{\"thread\":1}}\n{{\"ev\":\"acquire\" \"t\":1}}\n{{\"thread\":2}}\n");
    let (code, _, err) = bad("corrupt.jsonl", corrupt.as_bytes());
    assert_eq!(code, 2);
    assert!(
        err.contains("corrupt.jsonl:3: not a JSON object record"),
        "{err}"
    );

    let huge = format!(
        "{HEADER}{{\"thread\":1,\"name\":\"{}\"}}\n",
        "x".repeat(2 << 20)
    );
    let (code, _, err) = bad("huge.jsonl", huge.as_bytes());
    assert_eq!(code, 2);
    assert!(err.contains("huge.jsonl:2: line longer than"), "{err}");

    let (code, _, err) = lockgraph(&["analyze", "no/such/trace.jsonl"])
        .status
        .code()
        .map(|c| {
            (
                c,
                String::new(),
                text(&lockgraph(&["analyze", "no/such/trace.jsonl"]).stderr),
            )
        })
        .unwrap();
    assert_eq!(code, 2);
    assert!(
        err.contains("no/such/trace.jsonl: no such file or directory"),
        "{err}"
    );
}

#[test]
fn a_truncated_last_line_is_read_up_to_it_with_a_warning() {
    let cut = format!("{HEADER}{{\"site\":1,\"file\":\"a.rs\",\"line\":1,\"col\":1}}\n{{\"ev\":\"acquire\",\"t\":1,\"o\":1,\"s\":1,\"mode\":\"exclusive\"}}\n{{\"ev\":\"rel");
    let (code, stdout, err) = bad("truncated.jsonl", cut.as_bytes());
    assert_eq!(code, 0, "{err}");
    assert!(
        err.contains("warning: ") && err.contains("truncated.jsonl:4: last line is incomplete"),
        "{err}"
    );
    assert!(stdout.contains("1 event(s)"), "{stdout}");
}

#[test]
fn a_baseline_accepts_by_fingerprint_and_reports_stale_entries() {
    let trace = "fixtures/scenarios/s04_ab_then_ba_is_lock_order_cycle.jsonl";
    let json = lockgraph(&["analyze", "--no-baseline", "--format", "json", trace]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).unwrap();
    let fp = doc["findings"][0]["fingerprint"]
        .as_str()
        .unwrap()
        .to_owned();
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("baselines");
    std::fs::create_dir_all(&dir).unwrap();

    let ok = dir.join("ok.toml");
    std::fs::write(&ok, format!("[[accept]]\nfingerprint = \"{fp}\"\nreason = \"legacy path, tracked in #12\"\n\n[[accept]]\nfingerprint = \"0000000000000000\"\nreason = \"fixed long ago\"\n")).unwrap();
    let out = lockgraph(&["analyze", "--baseline", ok.to_str().unwrap(), trace]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "accepted findings do not fail the gate"
    );
    assert!(
        text(&out.stdout).contains("1 accepted by"),
        "{}",
        text(&out.stdout)
    );
    let err = text(&out.stderr);
    assert!(
        err.contains("baseline entry 0000000000000000 (fixed long ago) matched no finding"),
        "{err}"
    );

    let no_reason = dir.join("no-reason.toml");
    std::fs::write(
        &no_reason,
        format!("[[accept]]\nfingerprint = \"{fp}\"\nreason = \"\"\n"),
    )
    .unwrap();
    let out = lockgraph(&["analyze", "--baseline", no_reason.to_str().unwrap(), trace]);
    assert_eq!(out.status.code(), Some(2));
    assert!(
        text(&out.stderr).contains("has no reason"),
        "{}",
        text(&out.stderr)
    );

    let out = lockgraph(&["analyze", "--no-baseline", "--fail-on", "never", trace]);
    assert_eq!(out.status.code(), Some(0));
    let out = lockgraph(&["analyze", "--no-baseline", "--fail-on", "deadlock", trace]);
    assert_eq!(out.status.code(), Some(0), "only deadlocks fail");
    let out = lockgraph(&[
        "analyze",
        "--no-baseline",
        "--fail-on",
        "lock_order_cycle",
        trace,
    ]);
    assert_eq!(out.status.code(), Some(1));
}

/// `lockgraph analyze ... | head`: the reader goes away mid-report. The rest
/// is not written, nothing panics, and the exit code is still the verdict.
#[test]
fn a_reader_that_goes_away_is_no_error_and_the_exit_code_is_the_verdict() {
    use std::io::Read;
    use std::process::Stdio;
    // About 100 KB of JSON: more than a pipe holds, so the writer is
    // still writing when the read end closes.
    let mut child = Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .args([
            "analyze",
            "--no-baseline",
            "fixtures/scenarios/",
            "--format",
            "json",
        ])
        .current_dir(root())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run lockgraph");
    let mut first = [0u8; 16];
    child
        .stdout
        .take()
        .expect("stdout")
        .read_exact(&mut first)
        .expect("the report starts");
    // The read end is closed here, as `head` closes it.
    let out = child.wait_with_output().expect("exits");
    let stderr = text(&out.stderr);
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert_eq!(
        out.status.code(),
        Some(1),
        "the fixtures hold findings: the verdict is 1 whatever the reader did; stderr:\n{stderr}"
    );
}

/// The example `two_tests`, built beside the binary by `cargo test`.
fn two_tests() -> PathBuf {
    Path::new(env!("CARGO_BIN_EXE_lockgraph"))
        .parent()
        .expect("target dir")
        .join("examples/two_tests")
}

#[test]
fn check_runs_the_command_recorded_and_fails_on_an_inversion_split_across_two_tests() {
    let program = two_tests();
    assert!(
        program.exists(),
        "{} was built by cargo test",
        program.display()
    );
    let program = program.to_string_lossy().into_owned();
    let out = lockgraph(&["check", "--no-baseline", "--", &program]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.starts_with("lock_order_cycle (error)"), "{stdout}");
    assert!(
        stdout.contains("\"accounts\"") && stdout.contains("\"audit log\""),
        "{stdout}"
    );
    // Recorded with `warn`: the command itself ran to the end (its output
    // goes to stderr, so that stdout is the report alone).
    assert!(
        text(&out.stderr).contains("2 tests passed"),
        "{}",
        text(&out.stderr)
    );

    let fixed = lockgraph(&["check", "--no-baseline", "--", &program, "--fixed"]);
    assert_eq!(fixed.status.code(), Some(0), "{}", text(&fixed.stdout));

    // SARIF for the upload step.
    let sarif = lockgraph(&[
        "check",
        "--no-baseline",
        "--format",
        "sarif",
        "--",
        &program,
    ]);
    assert_eq!(sarif.status.code(), Some(1));
    let log: serde_json::Value = serde_json::from_slice(&sarif.stdout).expect("SARIF is JSON");
    assert_valid_sarif(&log, Path::new("check --format sarif"));
}

#[test]
fn check_honours_a_baseline_and_says_when_the_command_cannot_be_used() {
    let program = two_tests().to_string_lossy().into_owned();
    // Find the fingerprint, then accept it.
    let json = lockgraph(&["check", "--no-baseline", "--format", "json", "--", &program]);
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout).expect("JSON");
    let fp = doc["findings"][0]["fingerprint"]
        .as_str()
        .expect("a finding")
        .to_owned();
    let dir = std::env::temp_dir().join(format!("lockgraph-check-baseline-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("dir");
    let baseline = dir.join("lockgraph.toml");
    std::fs::write(
        &baseline,
        format!("[[accept]]\nfingerprint = \"{fp}\"\nreason = \"known\"\n\n[[accept]]\nfingerprint = \"0000000000000000\"\nreason = \"fixed long ago\"\n"),
    )
    .expect("write baseline");
    let b = baseline.to_string_lossy().into_owned();
    let out = lockgraph(&["check", "--baseline", &b, "--", &program]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("baseline entry 0000000000000000 (fixed long ago) matched no finding"),
        "the stale entry is named: {stderr}"
    );
    let _ = std::fs::remove_dir_all(&dir);

    // A command that does not exist, and one that records nothing: exit 2, said.
    let missing = lockgraph(&["check", "--", "/nonexistent/lockgraph-no-such-command"]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        text(&missing.stderr).contains("cannot run"),
        "{}",
        text(&missing.stderr)
    );
    let nothing = lockgraph(&["check", "--no-baseline", "--", "true"]);
    assert_eq!(nothing.status.code(), Some(2));
    assert!(
        text(&nothing.stderr).contains("recorded no trace"),
        "{}",
        text(&nothing.stderr)
    );
}

/// A two-thread inversion in `file` (absolute), with every line `shift`
/// lines further down, as a hand-written trace.
fn inversion_trace(file: &str, shift: u32) -> String {
    let file = serde_json::to_string(file).unwrap();
    let mut t = String::from(HEADER);
    t.push_str("{\"thread\":1,\"name\":\"main\"}\n{\"thread\":2,\"name\":\"a\"}\n{\"thread\":3,\"name\":\"b\"}\n");
    for (id, line, col) in [
        (1, 10, 10),
        (2, 11, 11),
        (3, 20, 5),
        (4, 21, 5),
        (5, 30, 5),
        (6, 31, 5),
    ] {
        t.push_str(&format!(
            "{{\"site\":{id},\"file\":{file},\"line\":{},\"col\":{col}}}\n",
            line + shift
        ));
    }
    t.push_str("{\"object\":1,\"kind\":\"mutex\",\"name\":null,\"site\":1}\n{\"object\":2,\"kind\":\"mutex\",\"name\":null,\"site\":2}\n");
    t.push_str("{\"ev\":\"spawn\",\"t\":1,\"child\":2}\n{\"ev\":\"spawn\",\"t\":1,\"child\":3}\n");
    for (th, outer, inner, s1, s2) in [(2, 1, 2, 3, 4), (3, 2, 1, 5, 6)] {
        t.push_str(&format!(
            "{{\"ev\":\"acquire\",\"t\":{th},\"o\":{outer},\"s\":{s1},\"mode\":\"exclusive\"}}\n"
        ));
        t.push_str(&format!(
            "{{\"ev\":\"attempt\",\"t\":{th},\"o\":{inner},\"s\":{s2},\"mode\":\"exclusive\"}}\n"
        ));
        t.push_str(&format!(
            "{{\"ev\":\"acquire\",\"t\":{th},\"o\":{inner},\"s\":{s2},\"mode\":\"exclusive\"}}\n"
        ));
        t.push_str(&format!("{{\"ev\":\"release\",\"t\":{th},\"o\":{inner}}}\n{{\"ev\":\"release\",\"t\":{th},\"o\":{outer}}}\n"));
        t.push_str(&format!("{{\"ev\":\"exit\",\"t\":{th}}}\n"));
    }
    t
}

/// The source of [`inversion_trace`], `shift` lines further down and
/// re-indented by `indent` spaces.
fn inversion_source(shift: u32, indent: usize) -> String {
    let mut lines: Vec<String> = (1..=40)
        .map(|i| format!("// line {i} of nothing"))
        .collect();
    for (line, text) in [
        (10, "let a = Mutex::new(0);"),
        (11, "let b = Mutex::new(0);"),
        (20, "let _a = a.lock();"),
        (21, "let _b = b.lock();"),
        (30, "let _b = b.lock();"),
        (31, "let _a = a.lock();"),
    ] {
        lines[line - 1] = format!("{}{text}", " ".repeat(indent));
    }
    let mut out: Vec<String> = (0..shift).map(|i| format!("// added {i}")).collect();
    out.extend(lines);
    out.join("\n") + "\n"
}

#[test]
fn the_stable_fingerprint_survives_moved_lines_and_a_baseline_may_name_it() {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("stable-fingerprint");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let src = dir.join("inversion.rs");
    let src_s = src.to_str().unwrap();
    let fingerprints = |shift: u32, indent: usize| {
        std::fs::write(&src, inversion_source(shift, indent)).unwrap();
        let trace = dir.join(format!("t{shift}.jsonl"));
        std::fs::write(&trace, inversion_trace(src_s, shift)).unwrap();
        let out = lockgraph(&[
            "analyze",
            "--no-baseline",
            "--format",
            "json",
            trace.to_str().unwrap(),
        ]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
        let f = &v["findings"][0];
        assert_eq!(f["kind"], "lock_order_cycle", "{v}");
        let get = |k: &str| {
            f[k].as_str()
                .unwrap_or_else(|| panic!("no {k}: {f}"))
                .to_owned()
        };
        (get("fingerprint"), get("stable_fingerprint"), trace)
    };
    let (exact1, stable1, _) = fingerprints(0, 4);
    let (exact2, stable2, moved) = fingerprints(7, 8);
    assert_ne!(exact1, exact2, "the exact fingerprint names lines");
    assert_eq!(
        stable1, stable2,
        "moving and re-indenting lines keeps the stable one"
    );
    // The text report shows it beside the exact one.
    let out = lockgraph(&["analyze", "--no-baseline", moved.to_str().unwrap()]);
    assert!(
        text(&out.stdout).contains(&format!(
            "fingerprint: {exact2} (stable across line moves: {stable2})"
        )),
        "{}",
        text(&out.stdout)
    );
    // A baseline written before the lines moved still accepts the finding.
    let baseline = dir.join("lockgraph.toml");
    std::fs::write(
        &baseline,
        format!("[[accept]]\nfingerprint = \"{stable1}\"\nreason = \"known, tracked in #7\"\n"),
    )
    .unwrap();
    let out = lockgraph(&[
        "analyze",
        "--baseline",
        baseline.to_str().unwrap(),
        moved.to_str().unwrap(),
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
    // Editing the acquiring line is another finding.
    let edited = inversion_source(7, 8).replace("let _a = a.lock();", "let _a = a.lock_arc();");
    std::fs::write(&src, edited).unwrap();
    let out = lockgraph(&[
        "analyze",
        "--baseline",
        baseline.to_str().unwrap(),
        moved.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out.stdout));
}

/// A crate made at test time, as a user has it: lockgraph as a path
/// dependency, two tests in one file sharing two locks. `fixed`: both
/// take them in one order; else the second test takes them the other way.
fn tiny_crate(dir: &Path, fixed: bool) {
    std::fs::create_dir_all(dir.join("tests")).unwrap();
    let lockgraph = root().join("crates/lockgraph");
    std::fs::write(
        dir.join("Cargo.toml"),
        format!(
            "[package]\nname = \"tiny-bank\"\nversion = \"0.0.0\"\nedition = \"2021\"\npublish = false\n\n\
             [dependencies]\nlockgraph = {{ path = {:?} }}\n\n[workspace]\n",
            lockgraph.to_str().unwrap()
        ),
    )
    .unwrap();
    std::fs::create_dir_all(dir.join("src")).unwrap();
    std::fs::write(
        dir.join("src/lib.rs"),
        "//! A bank with two locks.\n\nuse std::sync::LazyLock;\n\nuse lockgraph::Mutex;\n\n\
         /// The balances.\npub static ACCOUNTS: LazyLock<Mutex<u32>> = LazyLock::new(|| Mutex::named(\"accounts\", 0));\n\
         /// What happened.\npub static AUDIT: LazyLock<Mutex<u32>> = LazyLock::new(|| Mutex::named(\"audit log\", 0));\n",
    )
    .unwrap();
    let report = if fixed {
        "let mut a = ACCOUNTS.lock();\n    let mut l = AUDIT.lock();"
    } else {
        "let mut l = AUDIT.lock();\n    let mut a = ACCOUNTS.lock();"
    };
    std::fs::write(
        dir.join("tests/bank.rs"),
        format!(
            "use tiny_bank::{{ACCOUNTS, AUDIT}};\n\n#[test]\nfn transfer() {{\n    let mut a = ACCOUNTS.lock();\n    let mut l = AUDIT.lock();\n    *a += 1;\n    *l += 1;\n}}\n\n\
             #[test]\nfn report() {{\n    {report}\n    *a += 1;\n    *l += 1;\n}}\n"
        ),
    )
    .unwrap();
    // The workspace's lock file: the same versions, none to fetch.
    std::fs::copy(root().join("Cargo.lock"), dir.join("Cargo.lock")).unwrap();
}

#[test]
fn check_on_a_crate_made_at_test_time_fails_on_the_split_inversion_and_passes_its_fix() {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("tiny-crate");
    let target = base.join("target");
    let run = |name: &str, fixed: bool| {
        let dir = base.join(name);
        let _ = std::fs::remove_dir_all(&dir);
        tiny_crate(&dir, fixed);
        // One test thread: the two tests never overlap, so nothing hangs
        // and only the order can tell.
        Command::new(env!("CARGO_BIN_EXE_lockgraph"))
            .args([
                "check",
                "--no-baseline",
                "--",
                "cargo",
                "test",
                "--offline",
                "--quiet",
                "--",
                "--test-threads=1",
            ])
            .current_dir(&dir)
            .env("CARGO_TARGET_DIR", &target)
            .env_remove("RUSTFLAGS")
            .output()
            .expect("run lockgraph check")
    };
    let out = run("buggy", false);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(stdout.starts_with("lock_order_cycle (error)"), "{stdout}");
    assert!(
        stdout.contains("Mutex \"accounts\"")
            && stdout.contains("Mutex \"audit log\"")
            && stdout.contains("tests/bank.rs"),
        "{stdout}"
    );
    let fixed = run("fixed", true);
    assert_eq!(
        fixed.status.code(),
        Some(0),
        "{}\n{}",
        text(&fixed.stdout),
        text(&fixed.stderr)
    );
}

#[test]
fn traces_recorded_by_the_python_shim_are_analyzed_like_any_other() {
    for (stem, kind) in [
        ("inversion_no_hang", "lock_order_cycle (error)"),
        ("notify_before_wait", "missed_notification (error)"),
        ("race_counter", "data_race (error)"),
    ] {
        let trace = format!("fixtures/python/{stem}.jsonl");
        let out = lockgraph(&["analyze", "--no-baseline", "--no-snippets", &trace]);
        assert_eq!(out.status.code(), Some(1), "{}", text(&out.stderr));
        let stdout = text(&out.stdout);
        assert!(stdout.starts_with(kind), "{stem}: {stdout}");
        check(
            &[&trace],
            &root().join(format!("fixtures/expected/python/{stem}")),
        );
    }
}
