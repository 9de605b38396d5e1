//! When local edits become a chunk.
//!
//! Sealing a chunk costs a signature and a store transaction, and every chunk is a unit of sync,
//! so MDO never seals per keystroke. A chunk is sealed when a user action ends (a button, Enter,
//! leaving a field, one CLI command) or, while someone keeps typing, once a second. This is a
//! sans-IO decision: the caller passes the time and performs the flush
//! ([`crate::core::case::Case::seal_pending`] and the store's commit).

/// Milliseconds since any fixed origin (the caller's monotonic clock).
pub type Millis = u64;

/// The batching policy for one open case.
#[derive(Debug, Clone)]
pub struct Batcher {
    max_delay: Millis,
    first_pending: Option<Millis>,
}

/// What the caller should do now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flush {
    /// Seal and store the pending edits now.
    Now,
    /// Nothing pending.
    Idle,
    /// Edits are pending; ask again at this time (arm a timer).
    At(Millis),
}

impl Default for Batcher {
    fn default() -> Self {
        Self::new(1000)
    }
}

impl Batcher {
    /// A batcher that seals continuous typing at most `max_delay` ms after its first keystroke.
    pub fn new(max_delay: Millis) -> Self {
        Self {
            max_delay,
            first_pending: None,
        }
    }

    /// An edit happened (a keystroke). Returns what to do.
    pub fn edit(&mut self, now: Millis) -> Flush {
        let first = *self.first_pending.get_or_insert(now);
        self.poll(now.max(first))
    }

    /// A user action ended: flush if anything is pending.
    pub fn action_done(&mut self) -> Flush {
        if self.first_pending.is_some() {
            Flush::Now
        } else {
            Flush::Idle
        }
    }

    /// Asks again (e.g. when the timer fires).
    pub fn poll(&self, now: Millis) -> Flush {
        match self.first_pending {
            None => Flush::Idle,
            Some(first) if now.saturating_sub(first) >= self.max_delay => Flush::Now,
            Some(first) => Flush::At(first + self.max_delay),
        }
    }

    /// The caller sealed and stored the pending edits.
    pub fn flushed(&mut self) {
        self.first_pending = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typing_is_sealed_once_a_second_and_actions_at_their_end() {
        let mut b = Batcher::default();
        assert_eq!(b.poll(0), Flush::Idle);
        assert_eq!(b.action_done(), Flush::Idle);
        // Keystrokes every 100 ms: nothing until one second after the first.
        let mut flushes = 0;
        for t in (0..3000).step_by(100) {
            if b.edit(t) == Flush::Now {
                flushes += 1;
                b.flushed();
            }
        }
        assert_eq!(
            flushes, 2,
            "30 keystrokes over 3 s give 2 chunks while typing, not 30"
        );
        // Flushed at 1000 and 2100; the keystroke at 2200 opened the next batch.
        assert_eq!(b.poll(2950), Flush::At(3200));
        assert_eq!(b.poll(3200), Flush::Now);
        // Leaving the field seals what is pending.
        assert_eq!(b.action_done(), Flush::Now);
        b.flushed();
        assert_eq!(b.action_done(), Flush::Idle);
        // A clock that goes backwards does not panic or flush early.
        b.edit(5000);
        assert_eq!(b.edit(4000), Flush::At(6000));
    }
}
