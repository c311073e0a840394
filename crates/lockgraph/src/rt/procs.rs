//! The threads lockgraph does not know: whether one of them might still end a stall.
//!
//! A stall is "every live thread is blocked and nothing can wake them". The
//! runtime knows the threads that used an instrumented primitive or were
//! spawned through `lockgraph::thread`; a thread started with
//! `std::thread::spawn` that has not touched one yet is invisible to it, and
//! might be about to set the event everyone waits for. On Linux the kernel
//! says what every thread of the process is doing
//! (`/proc/self/task/<tid>/stat` and `syscall`):
//!
//! - a thread in an untimed `futex` wait is blocked on some other
//!   synchronization and wakes only when another thread acts: it cannot
//!   end the stall by itself and is not counted;
//! - a thread that is running holds the stall report back for as long as
//!   it runs;
//! - a thread asleep (a sleep, a timed futex wait such as `recv_timeout`,
//!   I/O, a poll) might wake and end the stall: it holds the report back
//!   for the grace period (`LOCKGRAPH_STALL_GRACE`), after which the stall
//!   is reported naming it. A heartbeat or watchdog that sleeps forever
//!   can therefore no longer hang a test.
//!
//! Elsewhere than Linux, unknown threads cannot be inspected and are not
//! counted.

/// Kernel ids of the runtime's own threads (the trace flusher, the
/// reporter): never threads that might end a stall.
static OWN: std::sync::Mutex<Vec<i64>> = std::sync::Mutex::new(Vec::new());

/// The calling thread is one of the runtime's own.
pub(crate) fn register_own() {
    if let Ok(mut own) = OWN.lock() {
        own.push(current_tid());
    }
}

/// The kernel ids of the runtime's own threads.
pub(crate) fn own_tids() -> Vec<i64> {
    OWN.lock().map(|o| o.clone()).unwrap_or_default()
}

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

/// What a thread the runtime does not know is doing, as the kernel says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Activity {
    /// Running or runnable: it may do anything next. Holds a stall report
    /// back for as long as it lasts.
    Running,
    /// In a system call that ends by itself (a sleep, a timed futex wait,
    /// I/O, a poll): it might wake and end the stall. Holds a stall report
    /// back for the grace period ([`super::config::stall_grace`]).
    Asleep(String),
}

/// A thread of this process the runtime does not know that might still
/// end a stall.
#[derive(Clone, Debug)]
pub(crate) struct Unknown {
    /// Its kernel id.
    pub(crate) tid: i64,
    /// Its name (`comm`, at most 15 bytes), as the kernel knows it.
    pub(crate) name: String,
    /// What it is doing.
    pub(crate) activity: Activity,
}

impl Unknown {
    /// `"heartbeat" (tid 1234, asleep in clock_nanosleep)`, with the name escaped.
    pub(crate) fn describe(&self) -> String {
        let what = match &self.activity {
            Activity::Running => "running".to_owned(),
            Activity::Asleep(call) => format!("asleep in {call}"),
        };
        format!("{:?} (tid {}, {what})", self.name, self.tid)
    }
}

/// The threads of this process other than those in `known` (kernel ids)
/// that could be running or could wake by itself. A thread in an untimed
/// `futex` wait is left out: it waits for another thread to act.
pub(crate) fn unknown_threads(known: &[i64]) -> Vec<Unknown> {
    #[cfg(target_os = "linux")]
    {
        let Ok(dir) = std::fs::read_dir("/proc/self/task") else {
            // Cannot look: assume the worst, a thread that runs.
            return vec![Unknown {
                tid: 0,
                name: "<unreadable /proc/self/task>".to_owned(),
                activity: Activity::Running,
            }];
        };
        let mut out = Vec::new();
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
            let path = entry.path();
            let read = |f: &str| std::fs::read_to_string(path.join(f)).ok();
            // A thread that ended while we looked reads as an error: gone.
            let (Some(stat), Some(syscall)) = (read("stat"), read("syscall")) else {
                continue;
            };
            let Some(activity) = activity(&stat, &syscall) else {
                continue;
            };
            let name = read("comm").map_or_else(String::new, |n| n.trim_end().to_owned());
            out.push(Unknown {
                tid,
                name,
                activity,
            });
        }
        out
    }
    #[cfg(not(target_os = "linux"))]
    {
        let _ = known;
        Vec::new()
    }
}

/// What a thread does, from its `stat` and `syscall` files; `None` for a
/// thread in an untimed futex wait (or a zombie), which cannot end a stall
/// by itself.
#[cfg(target_os = "linux")]
fn activity(stat: &str, syscall: &str) -> Option<Activity> {
    // "tid (comm) S ...": the state follows the last ')' (comm may hold any byte).
    let state = stat
        .rfind(')')
        .and_then(|i| stat[i + 1..].split_whitespace().next())
        .unwrap_or("R");
    if state == "R" {
        return Some(Activity::Running);
    }
    if state == "Z" || state == "X" {
        return None;
    }
    let mut fields = syscall.split_whitespace();
    let Some(nr) = fields.next().and_then(|n| n.parse::<i64>().ok()) else {
        // "running" (in user space a moment ago), or "-1 ..." (stopped
        // outside a system call): it may do anything next.
        return Some(Activity::Running);
    };
    let args: Vec<u64> = fields
        .take(6)
        .map(|a| u64::from_str_radix(a.trim_start_matches("0x"), 16).unwrap_or(0))
        .collect();
    let arg = |i: usize| args.get(i).copied().unwrap_or(0);
    if nr == libc::SYS_futex {
        // futex(uaddr, op, val, timeout, ...): a wait with a timeout ends
        // by itself; one without waits for another thread.
        let op = arg(1) & 0x7f;
        const FUTEX_WAIT: u64 = 0;
        const FUTEX_LOCK_PI: u64 = 6;
        const FUTEX_WAIT_BITSET: u64 = 9;
        const FUTEX_WAIT_REQUEUE_PI: u64 = 11;
        const FUTEX_LOCK_PI2: u64 = 13;
        let waits = matches!(
            op,
            FUTEX_WAIT | FUTEX_LOCK_PI | FUTEX_WAIT_BITSET | FUTEX_WAIT_REQUEUE_PI | FUTEX_LOCK_PI2
        );
        return (waits && arg(3) != 0).then(|| Activity::Asleep("a timed futex wait".to_owned()));
    }
    Some(Activity::Asleep(syscall_name(nr)))
}

/// A readable name for the system calls a sleeping thread is usually in.
#[cfg(target_os = "linux")]
fn syscall_name(nr: i64) -> String {
    let known: &[(i64, &str)] = &[
        (libc::SYS_clock_nanosleep, "clock_nanosleep"),
        (libc::SYS_nanosleep, "nanosleep"),
        (libc::SYS_read, "read"),
        (libc::SYS_write, "write"),
        (libc::SYS_ppoll, "ppoll"),
        (libc::SYS_pselect6, "pselect6"),
        (libc::SYS_epoll_pwait, "epoll_pwait"),
        (libc::SYS_recvfrom, "recvfrom"),
        (libc::SYS_accept4, "accept4"),
        (libc::SYS_wait4, "wait4"),
    ];
    known.iter().find(|(n, _)| *n == nr).map_or_else(
        || format!("system call {nr}"),
        |(_, name)| (*name).to_owned(),
    )
}

#[cfg(all(test, target_os = "linux"))]
mod tests {
    use super::*;

    #[test]
    fn a_sleeping_thread_may_wake_and_a_futex_waiter_may_not() {
        let me = current_tid();
        let sleeper = std::thread::Builder::new()
            .name("sleeper".into())
            .spawn(|| std::thread::sleep(std::time::Duration::from_millis(400)))
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let found = unknown_threads(&[me]);
        let s = found
            .iter()
            .find(|u| u.name == "sleeper")
            .expect("the sleeper is seen");
        assert_eq!(
            s.activity,
            Activity::Asleep("clock_nanosleep".into()),
            "{found:?}"
        );
        assert!(
            s.describe().starts_with("\"sleeper\" (tid "),
            "{}",
            s.describe()
        );
        sleeper.join().unwrap();

        let pair = std::sync::Arc::new((std::sync::Mutex::new(false), std::sync::Condvar::new()));
        let waiter = {
            let pair = pair.clone();
            std::thread::Builder::new()
                .name("futex waiter".into())
                .spawn(move || {
                    let mut g = pair.0.lock().unwrap();
                    while !*g {
                        g = pair.1.wait(g).unwrap();
                    }
                })
                .unwrap()
        };
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let timed = std::thread::Builder::new()
            .name("timed waiter".into())
            .spawn(move || {
                let _ = rx.recv_timeout(std::time::Duration::from_millis(400));
            })
            .unwrap();
        std::thread::sleep(std::time::Duration::from_millis(100));
        let found = unknown_threads(&[me]);
        assert!(!found.iter().any(|u| u.name == "futex waiter"), "{found:?}");
        let t = found
            .iter()
            .find(|u| u.name == "timed waiter")
            .expect("a timed wait may end by itself");
        assert_eq!(t.activity, Activity::Asleep("a timed futex wait".into()));
        *pair.0.lock().unwrap() = true;
        pair.1.notify_all();
        waiter.join().unwrap();
        drop(tx);
        timed.join().unwrap();
    }

    #[test]
    fn states_read_from_the_kernel_files() {
        let futex = libc::SYS_futex;
        assert_eq!(activity("1 (a) R 1", "running"), Some(Activity::Running));
        assert_eq!(activity("1 (a) S 1", "running"), Some(Activity::Running));
        assert_eq!(
            activity(
                "1 (x) (y) S 1",
                &format!("{futex} 0x7f 0x80 0x0 0x0 0x0 0x0")
            ),
            None
        );
        assert_eq!(
            activity(
                "1 (a) S 1",
                &format!("{futex} 0x7f 0x89 0x0 0x7ffd1000 0x0 0x0")
            ),
            Some(Activity::Asleep("a timed futex wait".into()))
        );
        assert_eq!(activity("1 (a) Z 1", "running"), None);
        assert_eq!(
            activity(
                "1 (a) S 1",
                &format!("{} 0x0 0x0", libc::SYS_clock_nanosleep)
            ),
            Some(Activity::Asleep("clock_nanosleep".into()))
        );
    }
}
