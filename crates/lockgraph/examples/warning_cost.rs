//! Measures what a warning costs the thread that triggered it: the first
//! `blocking_while_holding` of a process (a 5 ms `lockgraph::thread::sleep`
//! under a lock, with a backtrace captured), against the same sleep
//! with nothing to report.
//!
//! ```sh
//! cargo run --release -p lockgraph --example warning_cost
//! ```
//!
//! The report itself is symbolized and printed by lockgraph's reporter
//! thread, so the sleeping thread pays for the capture and a queue push.

use std::time::{Duration, Instant};

use lockgraph::Mutex;

fn main() {
    let nap = Duration::from_millis(5);
    // Warm-up and baseline: the same sleep, holding nothing.
    let mut plain = Vec::new();
    for _ in 0..5 {
        let t = Instant::now();
        lockgraph::thread::sleep(nap);
        plain.push(t.elapsed());
    }
    let config = Mutex::named("config", ());
    let g = config.lock();
    let t = Instant::now();
    lockgraph::thread::sleep(nap); // blocking_while_holding: the first warning of the process
    let warned = t.elapsed();
    drop(g);
    let baseline = plain.iter().min().copied().unwrap_or(nap);
    eprintln!();
    println!(
        "5 ms sleep: {:.2} ms with nothing to report, {:.2} ms for the first warning of the process (+{:.0} µs on the sleeping thread)",
        baseline.as_secs_f64() * 1e3,
        warned.as_secs_f64() * 1e3,
        (warned.saturating_sub(baseline)).as_secs_f64() * 1e6
    );
}
