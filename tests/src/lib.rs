//! Scenario harness: runs one scenario in a child process with a hard timeout
//! and hands back its findings, stderr and exit status.
//!
//! A scenario test calls [`run`] with its own test name and body. In the
//! parent, `run` re-executes the test binary filtered to that one test, with
//! `LOCKGRAPH_SCENARIO` set; in the child, `run` executes the body, prints the
//! findings as one JSON line and exits. A child that outlives its timeout is
//! killed and the test fails with "hung": no scenario can hang the suite.

use std::io::Read;
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

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

    /// Asserts that nothing at all was found.
    #[track_caller]
    pub fn assert_silent(&self) {
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
}

impl Default for Options {
    fn default() -> Self {
        Options {
            timeout: Duration::from_secs(20),
            env: Vec::new(),
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

fn child(body: impl FnOnce()) -> ! {
    // A panic in the scenario's own thread (a self_deadlock, say) still ends
    // with the findings printed.
    let _ = std::panic::catch_unwind(std::panic::AssertUnwindSafe(body));
    let findings = lockgraph::take_findings();
    let json = serde_json::to_string(&findings).expect("findings serialize");
    println!("\n{MARKER}{json}");
    std::process::exit(0)
}

fn parent(name: &str, opts: Options) -> Outcome {
    let exe = std::env::current_exe().expect("test binary path");
    let mut cmd = Command::new(exe);
    cmd.args([name, "--exact", "--nocapture", "--test-threads=1"])
        .env(CHILD_ENV, name)
        .env_remove("LOCKGRAPH_ON_FINDING")
        .env_remove("LOCKGRAPH")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    for (k, v) in &opts.env {
        cmd.env(k, v);
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
    let line = stdout
        .lines()
        .find_map(|l| l.strip_prefix(MARKER))
        .unwrap_or_else(|| panic!("scenario {name} printed no findings ({status:?}); stdout:\n{stdout}\nstderr:\n{stderr}"));
    let findings: Vec<Finding> = serde_json::from_str(line).expect("findings parse");
    Outcome {
        findings,
        stderr,
        status,
        elapsed,
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
            let $out = $crate::run(&name, || $body);
            $check
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
