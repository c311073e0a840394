//! The threads lockgraph does not know: whether one of them might still end a stall.
//!
//! A stall is "every live thread is blocked and nothing can wake them". The
//! runtime knows the threads that used an instrumented primitive or were
//! spawned through `lockgraph::thread`; a thread started with
//! `std::thread::spawn` that has not touched one yet is invisible to it, and
//! might be about to set the event everyone waits for. On Linux the kernel
//! says what every thread of the process is doing
//! (`/proc/self/task/<tid>/syscall`): a thread parked in a `futex` wait is
//! blocked on some other synchronization and wakes only when another thread
//! acts, so it cannot end the stall by itself; a thread that is running, or
//! sleeping, or waiting for I/O, might. Any such unknown thread makes the
//! runtime hold back the stall report.
//!
//! What this cannot see: an unknown thread in a *timed* futex wait (say
//! `recv_timeout`) that would set the event after its timeout. Elsewhere
//! than Linux, unknown threads cannot be inspected and are not counted.

/// The calling thread's kernel id (0 where there is none to get).
pub(crate) fn current_tid() -> i64 {
    #[cfg(target_os = "linux")]
    {
        // Safety: gettid has no preconditions and cannot fail.
        i64::from(unsafe { libc::gettid() })
    }
    #[cfg(not(target_os = "linux"))]
    {
        0
    }
}

/// Whether a thread of this process other than those in `known` (kernel
/// ids) could be running or could wake by itself.
pub(crate) fn unknown_thread_may_wake(known: &[i64]) -> bool {
    #[cfg(target_os = "linux")]
    {
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            // Cannot look: assume the worst, report nothing.
            return true;
        };
        for entry in dir.flatten() {
            let Some(tid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i64>().ok())
            else {
                continue;
            };
            if known.contains(&tid) {
                continue;
            }
            let path = entry.path().join("syscall");
            match std::fs::read_to_string(&path) {
                Ok(text) if in_futex_wait(&text) => {}
                // Running, sleeping, in I/O, or unreadable (the thread
                // just ended reads as an error too, which is harmless).
                _ => {
                    if entry.path().exists() {
                        return true;
                    }
                }
            }
        }
        false
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = known;
        false
    }
}

/// Whether a `/proc/<pid>/task/<tid>/syscall` line shows a `futex` call.
#[cfg(target_os = "linux")]
fn in_futex_wait(line: &str) -> bool {
    let Some(nr) = line
        .split_whitespace()
        .next()
        .and_then(|n| n.parse::<i64>().ok())
    else {
        return false; // "running", or "-1 ..." (not in a system call)
    };
    nr == libc::SYS_futex
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_sleeping_thread_may_wake_and_a_futex_waiter_may_not() {
        let me = current_tid();
        let pair = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let sleeper =
            std::thread::spawn(|| std::thread::sleep(std::time::Duration::from_millis(400)));
        std::thread::sleep(std::time::Duration::from_millis(100));
        // The sleeper alone makes the answer yes.
        assert!(unknown_thread_may_wake(&[me]));
        sleeper.join().unwrap();
        let waiter = {
            let pair = pair.clone();
            std::thread::spawn(move || {
                let mut g = pair.0.lock().unwrap();
                while !*g {
                    g = pair.1.wait(g).unwrap();
                }
            })
        };
        std::thread::sleep(std::time::Duration::from_millis(100));
        let text: Vec<String> = std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .filter_map(|e| std::fs::read_to_string(e.path().join("syscall")).ok())
            .collect();
        assert!(text.iter().any(|t| in_futex_wait(t)), "{text:?}");
        *pair.0.lock().unwrap() = true;
        pair.1.notify_all();
        waiter.join().unwrap();
        assert!(!in_futex_wait("running"));
        assert!(!in_futex_wait("230 0x0 0x0"));
    }
}
