//! The Python recorder (`python/lockgraph_threading`) on Python twins written for this project: each failure mode is recorded by the shim and analyzed by this binary, beside its correct twin that must stay silent.
//!
//! Needs `python3` (`.ci/run` makes sure of it): a machine without it fails
//! these tests rather than skipping them.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../..")
        .canonicalize()
        .expect("workspace root")
}

/// What `python3 -m lockgraph_threading --check twins/<name>.py` did, and
/// the (kind, severity) pairs the analysis of its trace found.
struct Run {
    code: Option<i32>,
    output: String,
    found: Vec<(String, String)>,
    elapsed: Duration,
}

fn run(name: &str) -> Run {
    let python = root().join("python");
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-twins");
    std::fs::create_dir_all(&dir).unwrap();
    let trace = dir.join(format!("{name}.jsonl"));
    let _ = std::fs::remove_file(&trace);
    let start = Instant::now();
    // `timeout`: a recorder bug that lets a twin hang fails its test
    // instead of hanging the suite.
    let out = Command::new("timeout")
        .args(["60", "python3", "-m", "lockgraph_threading", "-o"])
        .arg(&trace)
        .args(["--check", &format!("twins/{name}.py")])
        .current_dir(&python)
        .env("PYTHONPATH", &python)
        .env("LOCKGRAPH_BIN", env!("CARGO_BIN_EXE_lockgraph"))
        .env("LOCKGRAPH_STALL_GRACE", "1s")
        .output()
        .expect("python3 runs (.ci/run installs it)");
    let elapsed = start.elapsed();
    let output = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let json = Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .args(["analyze", "--no-baseline", "--format", "json"])
        .arg(&trace)
        .output()
        .expect("analyze");
    let doc: serde_json::Value = serde_json::from_slice(&json.stdout)
        .unwrap_or_else(|e| panic!("{name}: no report ({e}); the run said:\n{output}"));
    let mut found: Vec<(String, String)> = doc["findings"]
        .as_array()
        .expect("findings")
        .iter()
        .map(|f| {
            (
                f["kind"].as_str().unwrap_or("").to_owned(),
                f["severity"].as_str().unwrap_or("").to_owned(),
            )
        })
        .collect();
    found.sort();
    Run {
        code: out.status.code(),
        output,
        found,
        elapsed,
    }
}

fn errors(r: &Run) -> Vec<&str> {
    r.found
        .iter()
        .filter(|(_, s)| s == "error")
        .map(|(k, _)| k.as_str())
        .collect()
}

fn assert_silent(name: &str) {
    let r = run(name);
    assert!(r.found.is_empty(), "{name}: {:?}\n{}", r.found, r.output);
    assert_eq!(r.code, Some(0), "{name}:\n{}", r.output);
}

#[test]
fn a_lock_taken_again_by_its_holder_hangs_and_ends_with_a_self_deadlock_report() {
    let r = run("relock_lock");
    assert_eq!(errors(&r), ["self_deadlock"], "{}", r.output);
    assert!(
        r.output.contains("threading.RLock"),
        "the fix names Python's API:\n{}",
        r.output
    );
    assert_eq!(r.code, Some(1), "{}", r.output);
    assert!(
        r.output.contains("every thread is blocked"),
        "the watchdog ended it:\n{}",
        r.output
    );
    assert!(
        r.elapsed < Duration::from_secs(15),
        "ended in bounded time: {:?}",
        r.elapsed
    );
}

#[test]
fn twin_an_rlock_taken_again_is_silent() {
    assert_silent("relock_rlock");
}

#[test]
fn twin_a_lock_released_by_another_thread_is_no_self_deadlock() {
    assert_silent("lock_as_signal");
}

#[test]
fn two_threads_taking_two_locks_in_opposite_orders_at_once_is_one_deadlock() {
    let r = run("ab_ba_hang");
    assert_eq!(
        errors(&r),
        ["deadlock"],
        "one deadlock, not one per blocked thread:\n{}",
        r.output
    );
    assert_eq!(r.code, Some(1), "{}", r.output);
    assert!(
        r.output.contains("thread \"transfer\"") && r.output.contains("Lock \"audit\""),
        "{}",
        r.output
    );
}

#[test]
fn twin_one_global_order_is_silent() {
    assert_silent("ab_ba_one_order");
}

#[test]
fn an_inversion_that_did_not_hang_is_a_lock_order_cycle() {
    let r = run("inversion_no_hang");
    assert_eq!(
        r.found,
        [("lock_order_cycle".to_owned(), "error".to_owned())],
        "{}",
        r.output
    );
    assert_eq!(r.code, Some(1), "{}", r.output);
    assert!(
        r.output.contains("Lock \"config\"") && r.output.contains("Lock \"cache\""),
        "names from the creating lines:\n{}",
        r.output
    );
}

#[test]
fn twin_a_common_gate_lock_makes_the_inversion_silent() {
    assert_silent("inversion_twin_gate");
}

#[test]
fn polite_back_off_in_step_is_a_livelock() {
    let r = run("livelock_polite");
    assert_eq!(errors(&r), ["livelock"], "{}", r.output);
}

#[test]
fn twin_polite_back_off_in_one_order_is_silent() {
    assert_silent("livelock_twin_ordered");
}

#[test]
fn a_notify_before_the_wait_is_a_missed_notification() {
    let r = run("notify_before_wait");
    assert_eq!(errors(&r), ["missed_notification"], "{}", r.output);
    assert!(
        r.output.contains("Condition \"ready\"") && r.output.contains("Condition.wait_for"),
        "Python's names and Python's fix:\n{}",
        r.output
    );
    assert_eq!(r.code, Some(1), "{}", r.output);
}

#[test]
fn twin_wait_for_a_predicate_is_silent() {
    assert_silent("notify_twin_wait_for");
}

#[test]
fn a_thread_that_ends_holding_a_lock_is_a_lock_leak() {
    let r = run("leak_thread_ends_holding");
    assert_eq!(
        r.found,
        [("lock_leak".to_owned(), "warning".to_owned())],
        "{}",
        r.output
    );
}

#[test]
fn twin_with_releases_on_every_way_out() {
    assert_silent("leak_twin_with");
}

#[test]
fn semaphores_events_barriers_timers_and_conditions_used_rightly_are_silent() {
    assert_silent("semaphore_event_barrier_ok");
}

/// `python3 -m pytest --lockgraph` (the plugin loaded by `-p`, as an
/// installed package's entry point would) on `python/pytest_twins/<dir>`,
/// run in `cwd`: its exit code and output.
fn pytest(dir: &Path, cwd: &Path) -> (Option<i32>, String) {
    let python = root().join("python");
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!(
        "pytest-{}.jsonl",
        dir.file_name().unwrap().to_string_lossy()
    ));
    let out = Command::new("python3")
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "-p",
            "lockgraph_threading.pytest_plugin",
            "--lockgraph",
            "--lockgraph-trace",
        ])
        .arg(&trace)
        .arg(dir)
        .current_dir(cwd)
        .env("PYTHONPATH", &python)
        .env("LOCKGRAPH_BIN", env!("CARGO_BIN_EXE_lockgraph"))
        .output()
        .expect("python3 -m pytest runs (.ci/run installs pytest)");
    (
        out.status.code(),
        format!(
            "{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ),
    )
}

#[test]
fn pytest_lockgraph_fails_a_session_whose_tests_invert_an_order_and_honours_a_baseline() {
    let twins = root().join("python/pytest_twins");
    let (code, out) = pytest(&twins.join("inversion"), &twins);
    assert_eq!(code, Some(1), "{out}");
    assert!(
        out.contains("2 passed"),
        "every test passed, the session still fails:\n{out}"
    );
    assert!(out.contains("lock_order_cycle (error)"), "{out}");
    let (code, out) = pytest(&twins.join("ordered"), &twins);
    assert_eq!(code, Some(0), "{out}");
    assert!(out.contains("0 finding(s)"), "{out}");
    // Accepted by a baseline in the working directory, by the fingerprint
    // that survives moved lines.
    let (_, out) = pytest(&twins.join("inversion"), &twins);
    let stable = out
        .split("stable across line moves: ")
        .nth(1)
        .and_then(|s| s.get(..16))
        .unwrap_or_else(|| panic!("a stable fingerprint in:\n{out}"))
        .to_owned();
    let cwd = Path::new(env!("CARGO_TARGET_TMPDIR")).join("pytest-baseline");
    std::fs::create_dir_all(&cwd).unwrap();
    std::fs::write(
        cwd.join("lockgraph.toml"),
        format!("[[accept]]\nfingerprint = \"{stable}\"\nreason = \"tracked in #9\"\n"),
    )
    .unwrap();
    let (code, out) = pytest(&twins.join("inversion"), &cwd);
    assert_eq!(code, Some(0), "the baseline accepts it:\n{out}");
}

#[test]
fn a_shared_counter_without_a_lock_is_a_data_race() {
    let r = run("race_counter");
    assert!(
        errors(&r).iter().all(|k| *k == "data_race") && !errors(&r).is_empty(),
        "{:?}\n{}",
        r.found,
        r.output
    );
    assert!(r.output.contains("Tracked \"hits\""), "{}", r.output);
}

#[test]
fn twin_a_counter_under_one_lock_is_silent() {
    assert_silent("race_twin_locked");
}

#[test]
fn check_then_act_in_two_critical_sections_is_an_atomicity_violation() {
    let r = run("check_then_act");
    assert_eq!(errors(&r), ["atomicity_violation"], "{}", r.output);
    assert!(r.output.contains("one critical section"), "{}", r.output);
}

#[test]
fn twin_check_and_act_in_one_critical_section_is_silent() {
    assert_silent("check_then_act_twin");
}

#[test]
fn one_pip_install_gives_the_recorder_the_analyzer_the_pytest_plugin_and_recording_by_the_environment(
) {
    let base = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-venv");
    let _ = std::fs::remove_dir_all(&base);
    let venv = base.join("venv");
    let ok = |c: &mut Command, what: &str| {
        let out = c.output().unwrap_or_else(|e| panic!("{what}: {e}"));
        assert!(
            out.status.success(),
            "{what}:\n{}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(
        Command::new("python3").args(["-m", "venv"]).arg(&venv),
        "python3 -m venv",
    );
    let python = venv.join("bin/python");
    // The wheel bundles the analyzer (LOCKGRAPH_BINARY, hatch_build.py):
    // nothing below names a binary.
    ok(
        Command::new(&python)
            .args(["-m", "pip", "install", "-q", "--disable-pip-version-check"])
            .arg(root().join("python"))
            .arg("pytest")
            .env("LOCKGRAPH_BINARY", env!("CARGO_BIN_EXE_lockgraph")),
        "pip install ./python pytest",
    );
    let no_binary_path = format!("{}:/usr/bin:/bin", venv.join("bin").display());
    let out = Command::new(&python)
        .args(["-m", "lockgraph_threading", "--check"])
        .arg(root().join("python/twins/inversion_no_hang.py"))
        .current_dir(&base)
        .env_remove("LOCKGRAPH_BIN")
        .env_remove("PYTHONPATH")
        .env("PATH", &no_binary_path)
        .output()
        .expect("python -m lockgraph_threading runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("lock_order_cycle (error)"),
        "the bundled analyzer ran:\n{text}"
    );
    // LOCKGRAPH_TRACE alone: a plain `python script.py` records itself.
    let traces = base.join("traces/");
    let out = Command::new(&python)
        .arg(root().join("python/twins/inversion_no_hang.py"))
        .env("LOCKGRAPH_TRACE", &traces)
        .env_remove("PYTHONPATH")
        .output()
        .expect("python runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let report = Command::new(env!("CARGO_BIN_EXE_lockgraph"))
        .args(["analyze", "--no-baseline"])
        .arg(&traces)
        .output()
        .expect("analyze");
    let text = String::from_utf8_lossy(&report.stdout);
    assert_eq!(report.status.code(), Some(1), "{text}");
    assert!(text.starts_with("lock_order_cycle (error)"), "{text}");
    // The plugin is found by its entry point: no `-p`.
    let twins = root().join("python/pytest_twins");
    let out = Command::new(&python)
        .args([
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            "--lockgraph",
        ])
        .arg(twins.join("inversion"))
        .current_dir(&base)
        .env_remove("LOCKGRAPH_BIN")
        .env_remove("PYTHONPATH")
        .env("PATH", &no_binary_path)
        .output()
        .expect("pytest runs");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{text}");
    assert!(text.contains("lock_order_cycle (error)"), "{text}");
}

#[test]
fn repeated_blocks_are_one_line_and_lose_no_finding() {
    let r = run("loop_inversion");
    assert_eq!(
        r.found,
        [("lock_order_cycle".to_owned(), "error".to_owned())],
        "{}",
        r.output
    );
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-twins/loop_inversion.jsonl");
    let text = std::fs::read_to_string(&trace).unwrap();
    let repeats = text
        .lines()
        .filter(|l| l.starts_with("{\"ev\":\"repeat\""))
        .count();
    assert!(repeats >= 2, "each loop is a repeat:\n{text}");
    // Uncompressed, 80 000 lock events take about 3.3 MB; each flush
    // (every 100 ms) may add one repeat line.
    assert!(
        text.len() < 40_000,
        "80 000 lock events in {} bytes: not compressed",
        text.len()
    );
}

#[test]
fn twin_an_aborted_barrier_breaks_its_waits_and_is_silent() {
    assert_silent("barrier_abort_ok");
}

#[test]
fn a_module_run_with_dash_m_is_recorded_too() {
    let twins = root().join("python/twins");
    let trace = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-twins/module.jsonl");
    let out = Command::new("python3")
        .args(["-m", "lockgraph_threading", "-o"])
        .arg(&trace)
        .args(["--check", "-m", "pkg"])
        .current_dir(&twins)
        .env(
            "PYTHONPATH",
            format!("{}:{}", root().join("python").display(), twins.display()),
        )
        .env("LOCKGRAPH_BIN", env!("CARGO_BIN_EXE_lockgraph"))
        .output()
        .expect("python3 runs");
    let text = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{text}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        text.starts_with("lock_order_cycle (error)") && text.contains("Lock \"first\""),
        "{text}"
    );
}

#[test]
fn a_hang_beside_a_sleeping_heartbeat_thread_still_ends_with_the_report() {
    let r = run("hang_beside_a_heartbeat");
    assert_eq!(errors(&r), ["deadlock"], "{}", r.output);
    assert_eq!(r.code, Some(1), "{}", r.output);
    assert!(
        r.output.contains("asleep for the whole grace period") && r.output.contains("heartbeat"),
        "the report names the thread it did not count:\n{}",
        r.output
    );
    assert!(
        r.elapsed < Duration::from_secs(20),
        "bounded: {:?}",
        r.elapsed
    );
}

#[test]
fn twin_a_worker_that_computes_past_the_grace_period_is_no_hang() {
    assert_silent("busy_worker_is_no_hang");
}
