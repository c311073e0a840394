//! lockgraph against its peers on every lock benchmark of issue 13, one table of ratios to plain parking_lot.
//!
//! `cargo run --release --manifest-path bench/peers/Cargo.toml [-- --runs N]`
//!
//! Each measurement is its own process (`--child <impl> <case>`), run
//! `--runs` times (default 3); the table gives the median. Cases:
//!
//! - `a`: uncontended lock and unlock of one mutex;
//! - `b`: nested A→B→C, in an order already seen;
//! - `c`: two threads, pinned to CPUs 0 and 1 when the machine has two,
//!   10⁶ increments in total on one mutex;
//! - `d`: 1000 fresh mutexes chained once, m[i] then m[i+1], after one
//!   warm-up chain in the same process;
//! - `d_rev`: the same chain taken in reverse, m[i+1] then m[i];
//! - `d_fresh`: the first chain of a fresh process.
//!
//! Implementations: plain `parking_lot`; `lockgraph` with default settings
//! (lock-order tracking, live deadlock detection, backtraces on first-seen
//! edges); `lockgraph` with `LOCKGRAPH=off`; `tracing-mutex` (its
//! `parkinglot::tracing::Mutex`, tracking whatever the build profile);
//! `deloxide` (its detector started, live detection only).

use std::hint::black_box;
use std::process::Command;
use std::sync::{Arc, Barrier};
use std::time::Instant;

/// A mutex of one implementation, as the cases use it.
trait Lk: Send + Sync + 'static {
    fn new() -> Self;
    /// Locks, bumps the value, runs `f` with the lock held, unlocks.
    fn with<R>(&self, f: impl FnOnce() -> R) -> R;
}

macro_rules! lock_impl {
    ($name:ident, $ty:ty) => {
        struct $name($ty);
        impl Lk for $name {
            fn new() -> Self {
                $name(<$ty>::new(0))
            }
            #[inline]
            fn with<R>(&self, f: impl FnOnce() -> R) -> R {
                let mut g = self.0.lock();
                *g += 1;
                f()
            }
        }
    };
}

lock_impl!(Plain, parking_lot::Mutex<u64>);
lock_impl!(Lockgraph, lockgraph::Mutex<u64>);
lock_impl!(TracingMutex, tracing_mutex::parkinglot::tracing::Mutex<u64>);
lock_impl!(Deloxide, deloxide::Mutex<u64>);

const IMPLS: [&str; 5] = [
    "parking_lot",
    "lockgraph",
    "lockgraph_off",
    "tracing_mutex",
    "deloxide",
];

/// (case, what it is, issue 13's target ratio).
const CASES: [(&str, &str, &str); 6] = [
    ("a", "(a) uncontended lock+unlock", "<= 1.2"),
    ("b", "(b) nested A->B->C, orders seen", "<= 1.6"),
    ("c", "(c) two threads contending", "<= 1.2"),
    ("d", "(d) 1000 fresh mutexes chained", "<= 3"),
    ("d_rev", "(d') the chain in reverse", "<= 3"),
    ("d_fresh", "(d) in a fresh process", "<= 3"),
];

/// Pins the calling thread to CPU `cpu`, if the machine has it.
fn pin(cpu: usize) {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET stays in
    // bounds for cpu < CPU_SETSIZE; sched_setaffinity reads the set.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set);
    }
}

/// Nanoseconds per operation (per chain for the chain cases).
fn case<L: Lk>(name: &str) -> f64 {
    match name {
        "a" => {
            let m = L::new();
            for _ in 0..100_000 {
                m.with(|| ());
            }
            let n = 5_000_000;
            let t = Instant::now();
            for _ in 0..n {
                black_box(&m).with(|| ());
            }
            t.elapsed().as_nanos() as f64 / n as f64
        }
        "b" => {
            let (a, b, c) = (L::new(), L::new(), L::new());
            let run = |n: u64| {
                for _ in 0..n {
                    a.with(|| b.with(|| c.with(|| ())));
                }
            };
            run(100_000);
            let n = 2_000_000;
            let t = Instant::now();
            run(n);
            t.elapsed().as_nanos() as f64 / n as f64
        }
        "c" => {
            let m = Arc::new(L::new());
            let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
            let start = Arc::new(Barrier::new(3));
            let workers: Vec<_> = (0..2)
                .map(|i| {
                    let (m, start) = (m.clone(), start.clone());
                    std::thread::spawn(move || {
                        if cpus >= 2 {
                            pin(i);
                        }
                        start.wait();
                        for _ in 0..500_000 {
                            m.with(|| ());
                        }
                    })
                })
                .collect();
            start.wait();
            let t = Instant::now();
            for w in workers {
                w.join().expect("worker");
            }
            t.elapsed().as_nanos() as f64 / 1_000_000.0
        }
        "d" | "d_rev" | "d_fresh" => {
            let chain = |reverse: bool| {
                let ms: Vec<L> = (0..1000).map(|_| L::new()).collect();
                let t = Instant::now();
                for i in 0..999 {
                    let (first, second) = if reverse {
                        (&ms[i + 1], &ms[i])
                    } else {
                        (&ms[i], &ms[i + 1])
                    };
                    first.with(|| second.with(|| ()));
                }
                t.elapsed().as_nanos() as f64
            };
            if name == "d_fresh" {
                return chain(false);
            }
            let reverse = name == "d_rev";
            chain(reverse);
            let runs = 20;
            (0..runs).map(|_| chain(reverse)).sum::<f64>() / runs as f64
        }
        other => panic!("unknown case {other}"),
    }
}

fn child(imp: &str, name: &str) {
    let ns = match imp {
        "parking_lot" => case::<Plain>(name),
        "lockgraph" | "lockgraph_off" => case::<Lockgraph>(name),
        "tracing_mutex" => case::<TracingMutex>(name),
        "deloxide" => {
            deloxide::Deloxide::new()
                .start()
                .expect("deloxide's detector starts");
            case::<Deloxide>(name)
        }
        other => panic!("unknown implementation {other}"),
    };
    println!("ns {ns}");
}

/// The median of `runs` processes measuring `imp` on `name`, or why not.
fn measure(imp: &str, name: &str, runs: usize) -> Result<f64, String> {
    let exe = std::env::current_exe().map_err(|e| e.to_string())?;
    let mut got = Vec::new();
    for _ in 0..runs {
        let mut cmd = Command::new(&exe);
        cmd.args(["--child", imp, name]);
        if imp == "lockgraph_off" {
            cmd.env("LOCKGRAPH", "off");
        }
        let out = cmd.output().map_err(|e| e.to_string())?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        let ns = stdout
            .lines()
            .find_map(|l| {
                l.strip_prefix("ns ")
                    .and_then(|v| v.trim().parse::<f64>().ok())
            })
            .ok_or_else(|| {
                let err = String::from_utf8_lossy(&out.stderr);
                format!("failed: {}", err.lines().next().unwrap_or("no output"))
            })?;
        got.push(ns);
    }
    got.sort_by(f64::total_cmp);
    Ok(got[got.len() / 2])
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    if let Some(i) = args.iter().position(|a| a == "--child") {
        child(&args[i + 1], &args[i + 2]);
        return;
    }
    let runs = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1)?.parse().ok())
        .unwrap_or(3);
    let only: Vec<&str> = args
        .iter()
        .position(|a| a == "--cases")
        .and_then(|i| args.get(i + 1))
        .map(|s| s.split(',').collect())
        .unwrap_or_default();
    println!(
        "ratios to plain parking_lot (= 1.00), median of {runs} processes; {} CPUs",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    print!("| case | parking_lot |");
    for imp in &IMPLS[1..] {
        print!(" {imp} |");
    }
    println!(" target (lockgraph) |");
    println!("|---|---|{}---|", "---|".repeat(IMPLS.len() - 1));
    for (name, what, target) in CASES {
        if !only.is_empty() && !only.contains(&name) {
            continue;
        }
        let base = measure("parking_lot", name, runs);
        let shown = match &base {
            Ok(ns) if *ns >= 10_000.0 => format!("{:.1} us", ns / 1000.0),
            Ok(ns) => format!("{ns:.1} ns"),
            Err(e) => e.clone(),
        };
        print!("| {what} | {shown} |");
        for imp in &IMPLS[1..] {
            let cell = match (&base, measure(imp, name, runs)) {
                (Ok(b), Ok(ns)) => format!("{:.2}x", ns / b),
                (_, Err(e)) => e,
                (Err(_), Ok(ns)) => format!("{ns:.1} ns"),
            };
            print!(" {cell} |");
        }
        println!(" {target} |");
    }
}
