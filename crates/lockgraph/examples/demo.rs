//! A demo of what lockgraph reports: a lock-order cycle that did not hang, then a real deadlock that would have.
//!
//! Run with `cargo run -p lockgraph --example demo`.

use std::sync::{Arc, Barrier};
use std::thread;

use lockgraph::{Mutex, OnFinding};

fn main() {
    // Warn instead of panic for the first part: report and go on.
    lockgraph::set_on_finding(OnFinding::Warn);
    let accounts = Arc::new(Mutex::named("accounts", 0));
    let audit = Arc::new(Mutex::named("audit log", 0));

    // Part 1: thread "deposit" takes accounts then audit log; later, thread
    // "report" takes them the other way round. Nothing hangs, but the order is wrong.
    {
        let (accounts, audit) = (accounts.clone(), audit.clone());
        thread::Builder::new()
            .name("deposit".into())
            .spawn(move || {
                let _a = accounts.lock();
                let _l = audit.lock();
            })
            .unwrap()
            .join()
            .unwrap();
    }
    {
        let (accounts, audit) = (accounts.clone(), audit.clone());
        thread::Builder::new()
            .name("report".into())
            .spawn(move || {
                let _l = audit.lock();
                let _a = accounts.lock();
            })
            .unwrap()
            .join()
            .unwrap();
    }

    // Part 2: the same two orders at the same moment really deadlock. With
    // the default reaction (panic) one thread panics with the report instead
    // of hanging forever, and the other goes on.
    lockgraph::set_on_finding(OnFinding::Panic);
    let a = Arc::new(Mutex::named("left", ()));
    let b = Arc::new(Mutex::named("right", ()));
    let meet = Arc::new(Barrier::new(2));
    let spawn = |name: &str, first: Arc<Mutex<()>>, second: Arc<Mutex<()>>, meet: Arc<Barrier>| {
        thread::Builder::new()
            .name(name.into())
            .spawn(move || {
                let _x = first.lock();
                meet.wait();
                let _y = second.lock();
            })
            .unwrap()
    };
    let t1 = spawn("t1", a.clone(), b.clone(), meet.clone());
    let t2 = spawn("t2", b, a, meet);
    let results = [t1.join().is_ok(), t2.join().is_ok()];
    println!(
        "demo: the deadlock was broken by a panic in {} thread(s); {} finding(s) recorded",
        results.iter().filter(|ok| !**ok).count(),
        lockgraph::findings().len()
    );
}
