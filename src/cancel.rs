//! Cancellation: one token per run, handed to every source and to the chunked reader.
//!
//! A scan stops early when its token is cancelled, and reports what it found up to then. The
//! token that Ctrl-C cancels is process-wide (a signal handler can be installed once per
//! process); [`Cancel::ctrl_c`] hands it out, and a second Ctrl-C ends the process at once with
//! the interrupted exit code. Everything else takes a token as an argument and never looks at
//! process state, so a library user or a test can cancel a scan without signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit code of a process ended by a second Ctrl-C (and of an interrupted scan).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// A cancellation flag shared by everything one run starts. Cloning shares the flag.
#[derive(Debug, Clone, Default)]
pub struct Cancel(Arc<AtomicBool>);

impl Cancel {
    /// A token that nothing has cancelled.
    pub fn new() -> Cancel {
        Cancel::default()
    }

    /// Cancels every holder of this token.
    pub fn cancel(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    /// Whether the token was cancelled.
    pub fn is_cancelled(&self) -> bool {
        self.0.load(Ordering::Relaxed)
    }

    /// The process-wide token that Ctrl-C cancels, installing the handler on first use.
    pub(crate) fn ctrl_c() -> Cancel {
        static TOKEN: OnceLock<Cancel> = OnceLock::new();
        TOKEN
            .get_or_init(|| {
                let token = Cancel::new();
                let flag = token.clone();
                // Fails only if another handler is installed already; the token then stays
                // uncancelled, which is what a process without Ctrl-C handling gets.
                let _ = ctrlc::set_handler(move || {
                    if flag.is_cancelled() {
                        std::process::exit(i32::from(EXIT_INTERRUPTED));
                    }
                    flag.cancel();
                });
                token
            })
            .clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_cancel_reaches_every_clone() {
        let a = Cancel::new();
        let b = a.clone();
        assert!(!b.is_cancelled());
        a.cancel();
        assert!(b.is_cancelled());
        assert!(!Cancel::new().is_cancelled());
    }
}
