//! Built without the `instrument` feature, lockgraph is parking_lot: the same
//! sizes and parking_lot's own guard types. Run with
//! `cargo test -p lockgraph --no-default-features --test plain`.
#![cfg(not(feature = "instrument"))]

use std::any::TypeId;
use std::mem::size_of;

#[test]
fn types_are_parking_lots() {
    assert_eq!(
        TypeId::of::<lockgraph::MutexGuard<'static, u64>>(),
        TypeId::of::<parking_lot::MutexGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::RwLockReadGuard<'static, u64>>(),
        TypeId::of::<parking_lot::RwLockReadGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::RwLockWriteGuard<'static, u64>>(),
        TypeId::of::<parking_lot::RwLockWriteGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::ReentrantMutexGuard<'static, u64>>(),
        TypeId::of::<parking_lot::ReentrantMutexGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::RawMutex>(),
        TypeId::of::<parking_lot::RawMutex>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::FairMutexGuard<'static, u64>>(),
        TypeId::of::<parking_lot::FairMutexGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::MappedFairMutexGuard<'static, u64>>(),
        TypeId::of::<parking_lot::MappedFairMutexGuard<'static, u64>>()
    );
    assert_eq!(
        TypeId::of::<lockgraph::RawFairMutex>(),
        TypeId::of::<parking_lot::RawFairMutex>()
    );
    assert_eq!(
        size_of::<lockgraph::FairMutex<u8>>(),
        size_of::<parking_lot::FairMutex<u8>>()
    );
    assert_eq!(
        size_of::<lockgraph::Mutex<u8>>(),
        size_of::<parking_lot::Mutex<u8>>()
    );
    assert_eq!(
        size_of::<lockgraph::RwLock<u64>>(),
        size_of::<parking_lot::RwLock<u64>>()
    );
    assert_eq!(
        size_of::<lockgraph::ReentrantMutex<u64>>(),
        size_of::<parking_lot::ReentrantMutex<u64>>()
    );
    assert_eq!(
        size_of::<lockgraph::Condvar>(),
        size_of::<parking_lot::Condvar>()
    );
    const { assert!(!lockgraph::INSTRUMENTED) };
}

#[test]
fn the_api_still_works_and_relock_is_not_intercepted() {
    let m = lockgraph::Mutex::named("named, but nobody listens", 1);
    let g = m.lock();
    // Uninstrumented: a second lock would hang, so only try it.
    assert!(m.try_lock().is_none());
    drop(g);
    let l = lockgraph::RwLock::new(0);
    *l.write() += 1;
    assert_eq!(*l.read(), 1);
    let f = lockgraph::const_fair_mutex(0);
    let mut g = f.lock();
    assert!(f.try_lock().is_none());
    lockgraph::FairMutexGuard::bump(&mut g);
    lockgraph::FairMutexGuard::unlock_fair(g);
    let pair = (lockgraph::Mutex::new(true), lockgraph::Condvar::new());
    let mut ready = pair.0.lock();
    pair.1.wait_while(&mut ready, |r| !*r);
}
