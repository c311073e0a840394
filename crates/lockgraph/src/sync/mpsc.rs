//! Channels that carry happens-before: std's `mpsc`, with each message bringing its sender's history to its receiver.
//!
//! Same API as `std::sync::mpsc`. A value received was sent before it was
//! received, so whatever the sender wrote before `send` is ordered before
//! what the receiver does after `recv`: a hand-off through these channels
//! is never a `data_race`. A `recv` that waits takes part in deadlock
//! detection: when every thread that could send is itself blocked (on a
//! lock the receiver holds, say), the stall is reported and the receive
//! ends with the report, as any other wait's.

use std::panic::Location;
use std::sync::mpsc as std_mpsc;
use std::time::Duration;

use crate::backend::{self, Clock, Kind, Meta};

pub use std::sync::mpsc::{RecvError, RecvTimeoutError, SendError, TryRecvError, TrySendError};

/// Creates an unbounded channel, as [`std::sync::mpsc::channel`]; its
/// creation site is the caller's.
#[track_caller]
pub fn channel<T>() -> (Sender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::channel();
    (Sender { inner: tx }, Receiver::new(rx))
}

/// Creates a bounded channel, as [`std::sync::mpsc::sync_channel`].
#[track_caller]
pub fn sync_channel<T>(bound: usize) -> (SyncSender<T>, Receiver<T>) {
    let (tx, rx) = std_mpsc::sync_channel(bound);
    (SyncSender { inner: tx }, Receiver::new(rx))
}

/// The sending half of [`channel`].
#[derive(Debug)]
pub struct Sender<T> {
    inner: std_mpsc::Sender<(T, Clock)>,
}

impl<T> Clone for Sender<T> {
    fn clone(&self) -> Self {
        Sender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> Sender<T> {
    /// Sends `t`, as std's; the receiver will see this thread's history.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner
            .send((t, Clock::now()))
            .map_err(|SendError((t, _))| SendError(t))
    }
}

/// The sending half of [`sync_channel`].
#[derive(Debug)]
pub struct SyncSender<T> {
    inner: std_mpsc::SyncSender<(T, Clock)>,
}

impl<T> Clone for SyncSender<T> {
    fn clone(&self) -> Self {
        SyncSender {
            inner: self.inner.clone(),
        }
    }
}

impl<T> SyncSender<T> {
    /// Sends `t`, waiting for room, as std's.
    pub fn send(&self, t: T) -> Result<(), SendError<T>> {
        self.inner
            .send((t, Clock::now()))
            .map_err(|SendError((t, _))| SendError(t))
    }

    /// Sends `t` if there is room now, as std's.
    pub fn try_send(&self, t: T) -> Result<(), TrySendError<T>> {
        self.inner.try_send((t, Clock::now())).map_err(|e| match e {
            TrySendError::Full((t, _)) => TrySendError::Full(t),
            TrySendError::Disconnected((t, _)) => TrySendError::Disconnected(t),
        })
    }
}

/// The receiving half of a channel.
#[derive(Debug)]
pub struct Receiver<T> {
    inner: std_mpsc::Receiver<(T, Clock)>,
    meta: Meta,
}

impl<T> Receiver<T> {
    #[track_caller]
    fn new(inner: std_mpsc::Receiver<(T, Clock)>) -> Self {
        Receiver {
            inner,
            meta: Meta::new(Location::caller(), None, Kind::Channel),
        }
    }

    /// Waits for a value, as std's; what its sender did before sending is
    /// ordered before what this thread does next. A wait nothing can end
    /// is reported (see the module's documentation).
    #[track_caller]
    pub fn recv(&self) -> Result<T, RecvError> {
        let site = Location::caller();
        let got = if backend::enabled() {
            match self.inner.try_recv() {
                Ok(v) => Ok(v),
                Err(TryRecvError::Disconnected) => Err(RecvError),
                Err(TryRecvError::Empty) => {
                    let mut got = None;
                    backend::channel_wait(&self.meta, site, |d| match self.inner.recv_timeout(d) {
                        Ok(v) => {
                            got = Some(Ok(v));
                            true
                        }
                        Err(RecvTimeoutError::Timeout) => false,
                        Err(RecvTimeoutError::Disconnected) => {
                            got = Some(Err(RecvError));
                            true
                        }
                    });
                    got.unwrap_or(Err(RecvError))
                }
            }
        } else {
            self.inner.recv()
        };
        got.map(|(t, c)| {
            c.take_in(site);
            t
        })
    }

    /// Takes a value if one is there, as std's.
    #[track_caller]
    pub fn try_recv(&self) -> Result<T, TryRecvError> {
        let site = Location::caller();
        self.inner.try_recv().map(|(t, c)| {
            c.take_in(site);
            t
        })
    }

    /// Waits at most `timeout` for a value, as std's.
    #[track_caller]
    pub fn recv_timeout(&self, timeout: Duration) -> Result<T, RecvTimeoutError> {
        let site = Location::caller();
        self.inner.recv_timeout(timeout).map(|(t, c)| {
            c.take_in(site);
            t
        })
    }

    /// Iterates over values until every sender is gone, as std's.
    pub fn iter(&self) -> Iter<'_, T> {
        Iter { rx: self }
    }

    /// Iterates over the values there now, as std's.
    pub fn try_iter(&self) -> TryIter<'_, T> {
        TryIter { rx: self }
    }
}

/// The blocking iterator of [`Receiver::iter`].
#[derive(Debug)]
pub struct Iter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for Iter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

/// The non-blocking iterator of [`Receiver::try_iter`].
#[derive(Debug)]
pub struct TryIter<'a, T> {
    rx: &'a Receiver<T>,
}

impl<T> Iterator for TryIter<'_, T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.try_recv().ok()
    }
}

/// The owning iterator of a [`Receiver`].
#[derive(Debug)]
pub struct IntoIter<T> {
    rx: Receiver<T>,
}

impl<T> Iterator for IntoIter<T> {
    type Item = T;
    #[track_caller]
    fn next(&mut self) -> Option<T> {
        self.rx.recv().ok()
    }
}

impl<T> IntoIterator for Receiver<T> {
    type Item = T;
    type IntoIter = IntoIter<T>;
    fn into_iter(self) -> IntoIter<T> {
        IntoIter { rx: self }
    }
}

impl<'a, T> IntoIterator for &'a Receiver<T> {
    type Item = T;
    type IntoIter = Iter<'a, T>;
    fn into_iter(self) -> Iter<'a, T> {
        self.iter()
    }
}
