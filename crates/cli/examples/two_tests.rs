//! A stand-in for a test suite, for `lockgraph check`'s own tests: two "tests" on two plain threads, one after the other, taking two locks in opposite orders (or, with `--fixed`, in one order).
//!
//! Neither test hangs, as in a real run where tests happen not to overlap;
//! `lockgraph check -- two_tests` still fails the build on the inversion.

use std::sync::Arc;

use lockgraph::Mutex;

fn main() {
    let fixed = std::env::args().any(|a| a == "--fixed");
    let accounts = Arc::new(Mutex::named("accounts", 0u32));
    let audit = Arc::new(Mutex::named("audit log", 0u32));
    let one = {
        let (accounts, audit) = (accounts.clone(), audit.clone());
        std::thread::Builder::new()
            .name("test_transfer".into())
            .spawn(move || {
                let mut a = accounts.lock();
                *a += 1;
                *audit.lock() += 1;
            })
            .expect("spawn")
    };
    one.join().expect("test_transfer passes");
    let two = std::thread::Builder::new()
        .name("test_report".into())
        .spawn(move || {
            if fixed {
                let _a = accounts.lock();
                let _l = audit.lock();
            } else {
                let _l = audit.lock();
                let _a = accounts.lock();
            }
        })
        .expect("spawn");
    two.join().expect("test_report passes");
    println!("2 tests passed");
}
