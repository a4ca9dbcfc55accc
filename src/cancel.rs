//! Cancellation: one token per run, handed to every source and to the chunked reader.
//!
//! A scan stops early when its token is cancelled, and reports what it found up to then. The
//! token that Ctrl-C cancels is process-wide (a signal handler can be installed once per
//! process); [`Cancel::ctrl_c`] hands it out, and a second Ctrl-C ends the process at once with
//! the interrupted exit code; so does the first, if the run has not stopped within [`GRACE`]
//! (whatever it is blocked in). Everything else takes a token as an argument and never looks at
//! process state, so a library user or a test can cancel a scan without signals.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

/// Exit code of a process ended by a second Ctrl-C (and of an interrupted scan).
pub(crate) const EXIT_INTERRUPTED: u8 = 130;

/// How long a run may take to stop after the first Ctrl-C (to finish the step it is in and
/// write what it found) before the process ends anyway, with [`EXIT_INTERRUPTED`].
pub(crate) const GRACE: std::time::Duration = std::time::Duration::from_secs(5);

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
                    // Whatever the run is blocked in (a read that never returns, a library
                    // call that never ends), the first Ctrl-C ends the process.
                    let _ = std::thread::Builder::new().name("ndaguard-ctrl-c".into()).spawn(|| {
                        std::thread::sleep(GRACE);
                        eprintln!(
                            "ndaguard: interrupted, and the scan did not stop within {} s: exiting without a report",
                            GRACE.as_secs()
                        );
                        std::process::exit(i32::from(EXIT_INTERRUPTED));
                    });
                });
                token
            })
            .clone()
    }
}

/// A deliberate hang for tests of Ctrl-C: with `NDAGUARD_STALL` set to `point`, says so on
/// standard error and never returns (without looking at any token, like a blocked system call
/// or a library loop would). Costs one environment lookup otherwise.
pub(crate) fn stall_point(point: &str) {
    if std::env::var_os("NDAGUARD_STALL").is_some_and(|v| v == point) {
        eprintln!("ndaguard: stalled at {point} (NDAGUARD_STALL)");
        loop {
            std::thread::sleep(std::time::Duration::from_secs(3600));
        }
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
