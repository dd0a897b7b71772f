//! Teeth: proof that the checkers catch what they claim to. Miniatures of Janus's two founding
//! bugs, written against vroom's own sync abstraction, must be reported as deadlocks by loom and
//! by shuttle; the quiescence check must catch a leaked guard that nobody touches again.
//!
//! * #3463: `notify_publisher` took streams then room, `listparticipants` room then streams.
//!   The ordered locks make that order a compile error (`lock_order.rs`), so the miniature uses
//!   the backend's raw mutexes, which the core never touches.
//! * #3468: `rtp_forward` returned on a socket failure with `streams_mutex` still held. Here the
//!   real ordered lock is leaked with `mem::forget` on the error path, which compiles.

#![allow(dead_code)]

use std::sync::Arc;

use crate::common::Model;
use vroom::sync::levels;
use vroom::sync::order::{Mutex, Token};
use vroom::sync::{RtMutex, Runtime};

/// Janus's VideoRoom before #3474, in miniature.
struct AbbaRoom<R: Runtime> {
    room: R::Mutex<Vec<u64>>,
    streams: R::Mutex<Vec<u64>>,
}

impl<R: Runtime> AbbaRoom<R> {
    fn new() -> Self {
        AbbaRoom { room: R::Mutex::new(vec![1, 2]), streams: R::Mutex::new(vec![10, 20]) }
    }

    /// `setup_media` → `notify_about_publisher`: streams, then room (the bug).
    fn notify_publisher_inverted(&self) -> usize {
        let streams = self.streams.lock();
        let room = self.room.lock();
        streams.len() + room.len()
    }

    /// `listparticipants`: room, then each publisher's streams.
    fn list_participants(&self) -> usize {
        let room = self.room.lock();
        let streams = self.streams.lock();
        room.len() + streams.len()
    }
}

pub fn abba<R: Model>() {
    let room = Arc::new(AbbaRoom::<R>::new());
    let r = room.clone();
    let notifier = R::spawn(move || r.notify_publisher_inverted());
    room.list_participants();
    notifier();
}

/// Janus's `rtp_forward` before #3468, in miniature, on vroom's real ordered locks.
struct LeakyPublisher<R: Runtime> {
    streams: Mutex<levels::Publisher, Vec<u64>, R>,
}

impl<R: Runtime> LeakyPublisher<R> {
    fn rtp_forward(&self, socket_fails: bool) -> Result<(), &'static str> {
        let mut t = Token::root::<R>();
        let streams = self.streams.lock(&mut t);
        if socket_fails {
            std::mem::forget(streams); // the missing unlock on the error path
            return Err("Could not open UDP socket");
        }
        Ok(())
    }

    fn list_participants(&self) -> usize {
        let mut t = Token::root::<R>();
        let n = self.streams.lock(&mut t).len();
        n
    }
}

pub fn leaked_guard<R: Model>() {
    let p = Arc::new(LeakyPublisher::<R> { streams: Mutex::new(vec![1]) });
    let q = p.clone();
    let forwarder = R::spawn(move || q.rtp_forward(true));
    p.list_participants();
    let _ = forwarder();
    p.list_participants();
}

pub fn leaked_guard_untouched<R: Model>() {
    let p = LeakyPublisher::<R> { streams: Mutex::new(vec![1]) };
    let _ = p.rtp_forward(true);
    assert!(p.streams.is_unlocked(), "lock still held at the end of the scenario");
}

/// The miniature with the order fixed: must pass, so the teeth bite only on the bug.
pub fn abba_fixed<R: Model>() {
    let room = Arc::new(AbbaRoom::<R>::new());
    let r = room.clone();
    let notifier = R::spawn(move || r.list_participants());
    room.list_participants();
    notifier();
}
