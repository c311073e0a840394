//! Scenario harness: runs one scenario in a child process with a hard timeout
//! and hands back its findings, stderr and exit status.
//!
//! A scenario test calls [`run`] with its own test name and body. In the
//! parent, `run` re-executes the test binary filtered to that one test, with
//! `LOCKGRAPH_SCENARIO` set; in the child, `run` executes the body, prints the
//! findings as one JSON line and exits. A child that outlives its timeout is
//! killed and the test fails with "hung": no scenario can hang the suite.

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use lockgraph_detect::replay::Analyzer;
use lockgraph_detect::trace::TraceReader;
use lockgraph_detect::{Finding, Kind, Severity};

const MARKER: &str = "LOCKGRAPH-SCENARIO-FINDINGS: ";
const CHILD_ENV: &str = "LOCKGRAPH_SCENARIO";

/// What a scenario's child process produced.
#[derive(Debug)]
pub struct Outcome {
    /// Every finding recorded in the child, in order.
    pub findings: Vec<Finding>,
    /// The child's stderr (panic messages, warnings).
    pub stderr: String,
    /// How the child ended.
    pub status: ExitStatus,
    /// How long the child ran.
    pub elapsed: Duration,
    /// Where the child recorded its trace, if it did.
    pub trace_dir: Option<PathBuf>,
    /// The panic message, if the scenario body panicked (on its own thread).
    pub panic: Option<String>,
    /// Whether a check asserted the panic ([`Outcome::expect_panic`]).
    panic_checked: std::cell::Cell<bool>,
}

impl Outcome {
    /// The kinds found, in order.
    pub fn kinds(&self) -> Vec<Kind> {
        self.findings.iter().map(|f| f.kind).collect()
    }

    /// The findings at error severity.
    pub fn errors(&self) -> Vec<&Finding> {
        self.findings
            .iter()
            .filter(|f| f.severity == Severity::Error)
            .collect()
    }

    /// Asserts exactly one finding, of `kind`, and returns it.
    #[track_caller]
    pub fn single(&self, kind: Kind) -> &Finding {
        assert_eq!(
            self.kinds(),
            vec![kind],
            "expected one {kind}; stderr:\n{}",
            self.stderr
        );
        &self.findings[0]
    }

    /// Asserts that the scenario body panicked with a lockgraph report of
    /// `kind` (the expected way for a thread to leave a certain self-wait
    /// or a confirmed deadlock) and returns the message.
    #[track_caller]
    pub fn expect_panic(&self, kind: Kind) -> &str {
        let Some(message) = self.panic.as_deref() else {
            panic!(
                "expected the body to panic with a {kind} report, it returned; stderr:\n{}",
                self.stderr
            )
        };
        let want = format!("lockgraph: {}", kind.as_str());
        assert!(
            message.starts_with(&want),
            "expected the body to panic with a {kind} report, it panicked with:\n{message}"
        );
        self.panic_checked.set(true);
        message
    }

    /// Accepts either ending of a body whose main thread is one of several
    /// in a stall: it may leave with the `kind` report (it confirmed the
    /// stall, or was doomed by it), or return normally (another thread
    /// confirmed it first, and its leaving ended the main thread's wait).
    /// A panic with anything else still fails the test.
    #[track_caller]
    pub fn allow_panic(&self, kind: Kind) {
        if self.panic.is_some() {
            self.expect_panic(kind);
        }
    }

    /// Fails unless the body returned normally or its panic was asserted
    /// with [`Outcome::expect_panic`]: an assertion that failed inside a
    /// scenario (a twin's "every worker finished") fails its test.
    #[track_caller]
    pub fn assert_body_ok(&self) {
        if let (Some(message), false) = (&self.panic, self.panic_checked.get()) {
            panic!(
                "the scenario body panicked: {message}\nstderr:\n{}",
                self.stderr
            );
        }
    }

    /// Asserts that nothing at all was found.
    #[track_caller]
    pub fn assert_silent(&self) {
        self.assert_body_ok();
        assert!(
            self.findings.is_empty(),
            "expected silence, found {:?}; stderr:\n{}",
            self.kinds(),
            self.stderr
        );
        assert!(
            self.status.success(),
            "child failed: {:?}; stderr:\n{}",
            self.status,
            self.stderr
        );
    }
}

/// Options for one scenario run.
#[derive(Clone, Debug)]
pub struct Options {
    /// Killed after this long.
    pub timeout: Duration,
    /// Extra environment for the child.
    pub env: Vec<(String, String)>,
    /// Record the child's trace into this directory (emptied first).
    pub trace_dir: Option<PathBuf>,
    /// Kill the child (SIGKILL) after this long and return what is left,
    /// instead of failing the test as hung.
    pub kill_after: Option<Duration>,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(20),
            env: Vec::new(),
            trace_dir: None,
            kill_after: None,
        }
    }
}

/// Runs `body` as scenario `name` (the test's own name) in a child process.
///
/// Returns the outcome in the parent. In the child, never returns.
pub fn run(name: &str, body: impl FnOnce()) -> Outcome {
    run_with(name, Options::default(), body)
}

/// [`run`] with options.
pub fn run_with(name: &str, opts: Options, body: impl FnOnce()) -> Outcome {
    if std::env::var(CHILD_ENV).as_deref() == Ok(name) {
        child(body)
    }
    parent(name, opts)
}

/// What the child prints after its marker: its findings, and the body's
/// panic message if it panicked.
#[derive(serde::Serialize, serde::Deserialize)]
struct ChildReport {
    findings: Vec<Finding>,
    panic: Option<String>,
}

fn child(body: impl FnOnce()) -> ! {
    // A panic in the scenario's own thread (a self_deadlock, say) still ends
    // with the findings printed; the message goes to the parent, which fails
    // the test unless the check asserted it.
    let panic = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body))
        .err()
        .map(|p| {
            p.downcast_ref::<String>()
                .cloned()
                .or_else(|| p.downcast_ref::<&str>().map(|s| (*s).to_owned()))
                .unwrap_or_else(|| "a panic with a non-string payload".to_owned())
        });
    let report = ChildReport {
        findings: lockgraph::take_findings(),
        panic,
    };
    let json = serde_json::to_string(&report).expect("findings serialize");
    println!("\n{MARKER}{json}");
    std::process::exit(0)
}

fn parent(name: &str, opts: Options) -> Outcome {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    // `--include-ignored`: the parent of an `#[ignore]`d scenario runs only
    // when asked (`cargo test -- --ignored`), and its child must then run
    // the body, not skip it as ignored.
    cmd.args([
        name,
        "--exact",
        "--nocapture",
        "--test-threads=1",
        "--include-ignored",
    ])
    .env(CHILD_ENV, name)
    .env_remove("LOCKGRAPH_ON_FINDING")
    .env_remove("LOCKGRAPH")
    // A scenario records only where `trace_dir` says: its deliberate
    // bugs must not land in an outer CI gate's traces.
    .env_remove("LOCKGRAPH_TRACE")
    .stdin(Stdio::null())
    .stdout(Stdio::piped())
    .stderr(Stdio::piped());
    for (k, v) in &opts.env {
        cmd.env(k, v);
    }
    if let Some(dir) = &opts.trace_dir {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("trace dir");
        cmd.env("LOCKGRAPH_TRACE", format!("{}/", dir.display()));
    }
    let start = Instant::now();
    let mut child = cmd.spawn().expect("spawn scenario child");
    let mut out_pipe = child.stdout.take().expect("stdout");
    let mut err_pipe = child.stderr.take().expect("stderr");
    let out_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_reader = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(status) = child.try_wait().expect("wait for child") {
            break status;
        }
        if opts.kill_after.is_some_and(|k| start.elapsed() > k) {
            let _ = child.kill();
            break child.wait().expect("wait for killed child");
        }
        if start.elapsed() > opts.timeout {
            let _ = child.kill();
            let _ = child.wait();
            let stderr = err_reader.join().unwrap_or_default();
            panic!(
                "scenario {name} hung: killed after {:?}; stderr:\n{stderr}",
                opts.timeout
            );
        }
        std::thread::sleep(Duration::from_millis(5));
    };
    let elapsed = start.elapsed();
    let stdout = out_reader.join().unwrap_or_default();
    let stderr = err_reader.join().unwrap_or_default();
    if opts.kill_after.is_some() && !status.success() {
        return Outcome {
            findings: Vec::new(),
            stderr,
            status,
            elapsed,
            trace_dir: opts.trace_dir,
            panic: None,
            panic_checked: std::cell::Cell::new(false),
        };
    }
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .unwrap_or_else(|| panic!("scenario {name} printed no findings ({status:?}); stdout:\n{stdout}\nstderr:\n{stderr}"));
    let report: ChildReport = serde_json::from_str(line).expect("findings parse");
    Outcome {
        findings: report.findings,
        stderr,
        status,
        elapsed,
        trace_dir: opts.trace_dir,
        panic: report.panic,
        panic_checked: std::cell::Cell::new(false),
    }
}

/// The trace files in a directory, sorted.
pub fn traces_in(dir: &Path) -> Vec<PathBuf> {
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|d| {
            d.filter_map(|e| e.ok().map(|e| e.path()))
                .filter(|p| p.extension().is_some_and(|e| e == "jsonl"))
                .collect()
        })
        .unwrap_or_default();
    files.sort();
    files
}

/// Analyzes trace files as `lockgraph analyze` does (without a baseline).
pub fn analyze(files: &[PathBuf]) -> Vec<Finding> {
    let mut a = Analyzer::new();
    for f in files {
        let name = f.display().to_string();
        let reader = std::io::BufReader::new(std::fs::File::open(f).expect("open trace"));
        let mut replay = a.trace(name.clone());
        for r in TraceReader::new(reader, name) {
            replay.record(r.unwrap_or_else(|e| panic!("trace unreadable: {e}")));
        }
        replay.finish();
    }
    a.finish().0
}

impl Outcome {
    /// Asserts that analyzing the recorded trace finds exactly what the live
    /// runtime found: the same kinds with the same fingerprints.
    #[track_caller]
    pub fn assert_replay_matches_live(&self) {
        let Some(dir) = &self.trace_dir else { return };
        let files = traces_in(dir);
        assert_eq!(
            files.len(),
            1,
            "one trace per child process in {}",
            dir.display()
        );
        let key = |f: &Finding| (f.kind, f.fingerprint, f.severity);
        let mut live: Vec<_> = self.findings.iter().map(key).collect();
        let mut offline: Vec<_> = analyze(&files).iter().map(key).collect();
        live.sort();
        offline.sort();
        assert_eq!(
            offline,
            live,
            "post-mortem analysis of {} differs from the live findings",
            files[0].display()
        );
    }

    /// With `LOCKGRAPH_REGEN_FIXTURES=1`, copies the recorded trace to
    /// `fixtures/scenarios/<name>.jsonl`.
    pub fn save_fixture(&self, name: &str) {
        if std::env::var_os("LOCKGRAPH_REGEN_FIXTURES").is_none() {
            return;
        }
        let Some(dir) = &self.trace_dir else { return };
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .parent()
            .expect("workspace")
            .join("fixtures/scenarios");
        std::fs::create_dir_all(&root).expect("fixtures dir");
        if let Some(file) = traces_in(dir).first() {
            std::fs::copy(
                file,
                root.join(format!("{}.jsonl", name.replace("::", "-"))),
            )
            .expect("copy fixture");
        }
    }
}

/// Declares a scenario test whose body runs isolated in a child process;
/// `$out` is bound to the [`Outcome`] in the parent.
#[macro_export]
macro_rules! scenario {
    ($(#[$attr:meta])* fn $name:ident() $body:block => |$out:ident| $check:block) => {
        $(#[$attr])*
        #[test]
        fn $name() {
            let path = module_path!();
            let name = match path.split_once("::") {
                Some((_, rest)) => format!("{rest}::{}", stringify!($name)),
                None => stringify!($name).to_owned(),
            };
            let opts = $crate::Options {
                trace_dir: Some(std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("scenario-traces").join(&name)),
                ..$crate::Options::default()
            };
            let $out = $crate::run_with(&name, opts, || $body);
            $check
            $out.assert_body_ok();
            $out.assert_replay_matches_live();
            $out.save_fixture(&name);
        }
    };
}

/// Names of the steps of a finding's evidence, as `op object@line` strings, for assertions.
pub fn steps(f: &Finding) -> Vec<String> {
    f.evidence
        .iter()
        .map(|e| {
            let obj = f
                .object(e.object)
                .and_then(|o| o.name.as_deref().map(str::to_owned))
                .unwrap_or_default();
            format!("{} {}@{}", e.op.as_str(), obj, e.site.line)
        })
        .collect()
}

/// Spawns a named `lockgraph::thread` (reports use the name).
pub fn named<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> lockgraph::thread::JoinHandle<T> {
    lockgraph::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn")
}

/// `n` milliseconds.
pub fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

impl Outcome {
    /// Asserts the findings are exactly `kinds` (in any order) and returns the one of `kind`.
    #[track_caller]
    pub fn exactly(&self, kinds: &[Kind], kind: Kind) -> &Finding {
        let mut found = self.kinds();
        found.sort();
        let mut want = kinds.to_vec();
        want.sort();
        assert_eq!(found, want, "stderr:\n{}", self.stderr);
        self.findings
            .iter()
            .find(|f| f.kind == kind)
            .expect("present")
    }
}

/// A flag guarded by a mutex, with the condvar its setter notifies.
pub type Flag = std::sync::Arc<(lockgraph::Mutex<bool>, lockgraph::Condvar)>;

/// The "wait under an unrelated lock" bug kernel: thread `waiter` takes
/// mutex `config`, then waits on condvar "flag set" for the flag, holding
/// `config` all along. Whoever sets the flag under `config`
/// ([`set_flag_under`]) blocks on it: threads blocked on each other through
/// a condvar and a lock. Returns `config`, the flag and the waiter.
pub fn waiter_holding_config() -> (
    std::sync::Arc<lockgraph::Mutex<()>>,
    Flag,
    lockgraph::thread::JoinHandle<()>,
) {
    let config = std::sync::Arc::new(lockgraph::Mutex::named("config", ()));
    let flag: Flag = std::sync::Arc::new((
        lockgraph::Mutex::named("flag", false),
        lockgraph::Condvar::named("flag set"),
    ));
    let waiter = {
        let (config, flag) = (config.clone(), flag.clone());
        named("waiter", move || {
            // The bug: waits for the flag while holding the lock the
            // setter needs first.
            let _config = config.lock();
            let mut set = flag.0.lock();
            while !*set {
                flag.1.wait(&mut set);
            }
        })
    };
    (config, flag, waiter)
}

/// Sets the flag of [`waiter_holding_config`] and notifies, holding `config`.
pub fn set_flag_under(config: &lockgraph::Mutex<()>, flag: &Flag) {
    let _config = config.lock();
    *flag.0.lock() = true;
    flag.1.notify_all();
}

/// Spawns a plain `std::thread` (one lockgraph does not know) named `name`.
pub fn plain<T: Send + 'static>(
    name: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> std::thread::JoinHandle<T> {
    std::thread::Builder::new()
        .name(name.to_owned())
        .spawn(f)
        .expect("spawn")
}
