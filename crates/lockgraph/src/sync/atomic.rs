//! Instrumented atomics, a drop-in for `std::sync::atomic`: every operation's ordering feeds happens-before, and split read-modify-writes are found.
//!
//! Each type has std's methods and `const fn new`. An operation records its
//! call site (`#[track_caller]`), applies its ordering (a Release store
//! publishes the thread's history to the Acquire loads that read it, with
//! release sequences and fences as in C++20), and watches for a `load`
//! followed by a `store` of the same thread with another thread's write in
//! between: an `atomicity_violation`, the lost update behind
//! `x.store(x.load() + 1)`. `SeqCst` operations are also ordered with
//! each other. Access through `&mut` (`get_mut`, `into_inner`) is exclusive.
//!
//! Without the `instrument` feature the tracking is zero-sized and every
//! method is std's own operation.

pub use std::sync::atomic::{compiler_fence, Ordering};

pub use imp::*;

mod imp {
    use std::fmt;
    use std::panic::Location;
    use std::sync::atomic as std_atomic;
    use std::sync::atomic::Ordering;

    use crate::backend::{AtomicOp, AtomicTracking, Value};

    /// An atomic fence, as [`std::sync::atomic::fence`]: an Acquire fence
    /// takes in what earlier Relaxed loads read from releases; a Release
    /// fence makes later Relaxed stores publish this thread's history.
    #[track_caller]
    #[inline]
    pub fn fence(order: Ordering) {
        std_atomic::fence(order);
        crate::backend::fence(order, Location::caller());
    }

    /// The ordering a failed compare-exchange reads with.
    fn failure(o: Ordering) -> AtomicOp {
        AtomicOp::Load(o)
    }

    /// The compare-exchange family every atomic shares: each attempt one
    /// step, whose value a report names through `Self::val`.
    macro_rules! compare_exchange_methods {
        ($t:ty) => {
            /// Stores `new` if the value is `current`; returns the previous value.
            #[track_caller]
            #[inline]
            pub fn compare_exchange(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                fail: Ordering,
            ) -> Result<$t, $t> {
                self.t.op(Location::caller(), || {
                    let r = self.v.compare_exchange(current, new, success, fail);
                    match r {
                        Ok(_) => (r, AtomicOp::Update(success), Self::val(new)),
                        Err(v) => (r, failure(fail), Self::val(v)),
                    }
                })
            }

            /// As [`Self::compare_exchange`], but may fail spuriously.
            #[track_caller]
            #[inline]
            pub fn compare_exchange_weak(
                &self,
                current: $t,
                new: $t,
                success: Ordering,
                fail: Ordering,
            ) -> Result<$t, $t> {
                self.t.op(Location::caller(), || {
                    let r = self.v.compare_exchange_weak(current, new, success, fail);
                    match r {
                        Ok(_) => (r, AtomicOp::Update(success), Self::val(new)),
                        Err(v) => (r, failure(fail), Self::val(v)),
                    }
                })
            }

            /// Applies `f` until it succeeds or returns `None`, as std's
            /// (a load then compare-exchanges: one step each time).
            #[track_caller]
            #[inline]
            pub fn fetch_update<F>(
                &self,
                set_order: Ordering,
                fetch_order: Ordering,
                mut f: F,
            ) -> Result<$t, $t>
            where
                F: FnMut($t) -> Option<$t>,
            {
                let site = Location::caller();
                let mut prev = self.t.op(site, || {
                    let v = self.v.load(fetch_order);
                    (v, AtomicOp::Load(fetch_order), Self::val(v))
                });
                while let Some(next) = f(prev) {
                    let r = self.t.op(site, || {
                        let r = self
                            .v
                            .compare_exchange_weak(prev, next, set_order, fetch_order);
                        match r {
                            Ok(_) => (r, AtomicOp::Update(set_order), Self::val(next)),
                            Err(v) => (r, failure(fetch_order), Self::val(v)),
                        }
                    });
                    match r {
                        Ok(v) => return Ok(v),
                        Err(v) => prev = v,
                    }
                }
                Err(prev)
            }
        };
    }

    macro_rules! atomic_int {
        ($name:ident, $std:ident, $t:ty, $value:ident, $as:ty) => {
            #[doc = concat!("An instrumented [`std::sync::atomic::", stringify!($std), "`] (same methods): its operations feed happens-before and the atomicity check.")]
            pub struct $name {
                v: std_atomic::$std,
                t: AtomicTracking,
            }

            impl $name {
                /// Creates a new atomic; usable in `static`s. Its creation site is the caller's.
                #[track_caller]
                #[inline]
                pub const fn new(v: $t) -> Self {
                    $name {
                        v: std_atomic::$std::new(v),
                        t: AtomicTracking::new(Location::caller()),
                    }
                }

                fn val(v: $t) -> Value {
                    Value::$value(v as $as)
                }

                /// The value, through `&mut`: exclusive, never a race.
                #[inline]
                pub fn get_mut(&mut self) -> &mut $t {
                    self.t.exclusive();
                    self.v.get_mut()
                }

                /// The value, consuming the atomic.
                #[inline]
                pub fn into_inner(self) -> $t {
                    self.v.into_inner()
                }

                /// A raw pointer to the value (accesses through it are not tracked).
                #[inline]
                pub const fn as_ptr(&self) -> *mut $t {
                    self.v.as_ptr()
                }

                /// Loads the value.
                #[track_caller]
                #[inline]
                pub fn load(&self, order: Ordering) -> $t {
                    self.t.op(Location::caller(), || {
                        let v = self.v.load(order);
                        (v, AtomicOp::Load(order), Self::val(v))
                    })
                }

                /// Stores a value.
                #[track_caller]
                #[inline]
                pub fn store(&self, val: $t, order: Ordering) {
                    self.t.op(Location::caller(), || {
                        self.v.store(val, order);
                        ((), AtomicOp::Store(order), Self::val(val))
                    })
                }

                /// Stores a value, returning the previous one.
                #[track_caller]
                #[inline]
                pub fn swap(&self, val: $t, order: Ordering) -> $t {
                    self.t.op(Location::caller(), || {
                        let old = self.v.swap(val, order);
                        (old, AtomicOp::Update(order), Self::val(val))
                    })
                }

                compare_exchange_methods!($t);
            }

            atomic_int!(@rmw $name, $t, fetch_add, |o, v| o.wrapping_add(v), "Adds to the value, returning the previous one.");
            atomic_int!(@rmw $name, $t, fetch_sub, |o, v| o.wrapping_sub(v), "Subtracts from the value, returning the previous one.");
            atomic_int!(@rmw $name, $t, fetch_and, |o, v| o & v, "Bitwise and, returning the previous value.");
            atomic_int!(@rmw $name, $t, fetch_nand, |o, v| !(o & v), "Bitwise nand, returning the previous value.");
            atomic_int!(@rmw $name, $t, fetch_or, |o, v| o | v, "Bitwise or, returning the previous value.");
            atomic_int!(@rmw $name, $t, fetch_xor, |o, v| o ^ v, "Bitwise xor, returning the previous value.");
            atomic_int!(@rmw $name, $t, fetch_max, |o, v| o.max(v), "Maximum, returning the previous value.");
            atomic_int!(@rmw $name, $t, fetch_min, |o, v| o.min(v), "Minimum, returning the previous value.");

            atomic_int!(@common $name, $t);
        };
        (@rmw $name:ident, $t:ty, $method:ident, $left:expr, $doc:literal) => {
            impl $name {
                #[doc = $doc]
                #[track_caller]
                #[inline]
                pub fn $method(&self, val: $t, order: Ordering) -> $t {
                    self.t.op(Location::caller(), || {
                        let old = self.v.$method(val, order);
                        // The value left is what a report names.
                        let left: fn($t, $t) -> $t = $left;
                        (old, AtomicOp::Update(order), Self::val(left(old, val)))
                    })
                }
            }
        };
        (@common $name:ident, $t:ty) => {
            impl Default for $name {
                #[track_caller]
                fn default() -> Self {
                    Self::new(Default::default())
                }
            }

            impl From<$t> for $name {
                #[track_caller]
                fn from(v: $t) -> Self {
                    Self::new(v)
                }
            }

            impl fmt::Debug for $name {
                fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                    // Not an access: std's Debug loads Relaxed, and so do we, untracked.
                    fmt::Debug::fmt(&self.v, f)
                }
            }
        };
    }

    atomic_int!(AtomicU8, AtomicU8, u8, Unsigned, u64);
    atomic_int!(AtomicU16, AtomicU16, u16, Unsigned, u64);
    atomic_int!(AtomicU32, AtomicU32, u32, Unsigned, u64);
    atomic_int!(AtomicU64, AtomicU64, u64, Unsigned, u64);
    atomic_int!(AtomicUsize, AtomicUsize, usize, Unsigned, u64);
    atomic_int!(AtomicI8, AtomicI8, i8, Signed, i64);
    atomic_int!(AtomicI16, AtomicI16, i16, Signed, i64);
    atomic_int!(AtomicI32, AtomicI32, i32, Signed, i64);
    atomic_int!(AtomicI64, AtomicI64, i64, Signed, i64);
    atomic_int!(AtomicIsize, AtomicIsize, isize, Signed, i64);

    /// An instrumented [`std::sync::atomic::AtomicBool`] (same methods).
    pub struct AtomicBool {
        v: std_atomic::AtomicBool,
        t: AtomicTracking,
    }

    macro_rules! bool_rmw {
        ($($method:ident, $left:expr, $doc:literal);*) => {
            impl AtomicBool {
                $(
                    #[doc = $doc]
                    #[track_caller]
                    #[inline]
                    pub fn $method(&self, val: bool, order: Ordering) -> bool {
                        self.t.op(Location::caller(), || {
                            let old = self.v.$method(val, order);
                            let left: fn(bool, bool) -> bool = $left;
                            (old, AtomicOp::Update(order), Value::Bool(left(old, val)))
                        })
                    }
                )*
            }
        };
    }
    bool_rmw!(
        fetch_and, |o, v| o & v, "Logical and, returning the previous value.";
        fetch_nand, |o, v| !(o & v), "Logical nand, returning the previous value.";
        fetch_or, |o, v| o | v, "Logical or, returning the previous value.";
        fetch_xor, |o, v| o ^ v, "Logical xor, returning the previous value.";
        swap, |_, v| v, "Stores a value, returning the previous one."
    );

    impl AtomicBool {
        /// Creates a new atomic; usable in `static`s. Its creation site is the caller's.
        #[track_caller]
        #[inline]
        pub const fn new(v: bool) -> Self {
            AtomicBool {
                v: std_atomic::AtomicBool::new(v),
                t: AtomicTracking::new(Location::caller()),
            }
        }

        fn val(v: bool) -> Value {
            Value::Bool(v)
        }

        /// The value, through `&mut`: exclusive, never a race.
        #[inline]
        pub fn get_mut(&mut self) -> &mut bool {
            self.t.exclusive();
            self.v.get_mut()
        }

        /// The value, consuming the atomic.
        #[inline]
        pub fn into_inner(self) -> bool {
            self.v.into_inner()
        }

        /// A raw pointer to the value (accesses through it are not tracked).
        #[inline]
        pub const fn as_ptr(&self) -> *mut bool {
            self.v.as_ptr()
        }

        /// Loads the value.
        #[track_caller]
        #[inline]
        pub fn load(&self, order: Ordering) -> bool {
            self.t.op(Location::caller(), || {
                let v = self.v.load(order);
                (v, AtomicOp::Load(order), Value::Bool(v))
            })
        }

        /// Stores a value.
        #[track_caller]
        #[inline]
        pub fn store(&self, val: bool, order: Ordering) {
            self.t.op(Location::caller(), || {
                self.v.store(val, order);
                ((), AtomicOp::Store(order), Value::Bool(val))
            })
        }

        /// Logical not, returning the previous value.
        #[track_caller]
        #[inline]
        pub fn fetch_not(&self, order: Ordering) -> bool {
            self.t.op(Location::caller(), || {
                let old = self.v.fetch_xor(true, order);
                (old, AtomicOp::Update(order), Value::Bool(!old))
            })
        }

        compare_exchange_methods!(bool);
    }

    impl Default for AtomicBool {
        #[track_caller]
        fn default() -> Self {
            Self::new(false)
        }
    }

    impl From<bool> for AtomicBool {
        #[track_caller]
        fn from(v: bool) -> Self {
            Self::new(v)
        }
    }

    impl fmt::Debug for AtomicBool {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.v, f)
        }
    }

    /// An instrumented [`std::sync::atomic::AtomicPtr`] (same methods).
    pub struct AtomicPtr<T> {
        v: std_atomic::AtomicPtr<T>,
        t: AtomicTracking,
    }

    impl<T> AtomicPtr<T> {
        /// Creates a new atomic pointer; usable in `static`s.
        #[track_caller]
        #[inline]
        pub const fn new(p: *mut T) -> Self {
            AtomicPtr {
                v: std_atomic::AtomicPtr::new(p),
                t: AtomicTracking::new(Location::caller()),
            }
        }

        fn val(p: *mut T) -> Value {
            Value::Ptr(p as usize)
        }

        /// The pointer, through `&mut`: exclusive, never a race.
        #[inline]
        pub fn get_mut(&mut self) -> &mut *mut T {
            self.t.exclusive();
            self.v.get_mut()
        }

        /// The pointer, consuming the atomic.
        #[inline]
        pub fn into_inner(self) -> *mut T {
            self.v.into_inner()
        }

        /// A raw pointer to the pointer (accesses through it are not tracked).
        #[inline]
        pub const fn as_ptr(&self) -> *mut *mut T {
            self.v.as_ptr()
        }

        /// Loads the pointer.
        #[track_caller]
        #[inline]
        pub fn load(&self, order: Ordering) -> *mut T {
            self.t.op(Location::caller(), || {
                let v = self.v.load(order);
                (v, AtomicOp::Load(order), Self::val(v))
            })
        }

        /// Stores a pointer.
        #[track_caller]
        #[inline]
        pub fn store(&self, p: *mut T, order: Ordering) {
            self.t.op(Location::caller(), || {
                self.v.store(p, order);
                ((), AtomicOp::Store(order), Self::val(p))
            })
        }

        /// Stores a pointer, returning the previous one.
        #[track_caller]
        #[inline]
        pub fn swap(&self, p: *mut T, order: Ordering) -> *mut T {
            self.t.op(Location::caller(), || {
                let old = self.v.swap(p, order);
                (old, AtomicOp::Update(order), Self::val(p))
            })
        }

        compare_exchange_methods!(*mut T);
    }

    impl<T> Default for AtomicPtr<T> {
        #[track_caller]
        fn default() -> Self {
            Self::new(std::ptr::null_mut())
        }
    }

    impl<T> From<*mut T> for AtomicPtr<T> {
        #[track_caller]
        fn from(p: *mut T) -> Self {
            Self::new(p)
        }
    }

    impl<T> fmt::Debug for AtomicPtr<T> {
        fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            fmt::Debug::fmt(&self.v, f)
        }
    }
}
