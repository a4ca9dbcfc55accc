//! Standard input that a Ctrl-C can stop.
//!
//! A read from a pipe blocks until the writer sends more or closes it, and a Ctrl-C does not end
//! that read. So a thread reads standard input and hands the bytes over a bounded channel, and
//! [`Interruptible`] ends its input (an end of file) when the scan has been interrupted and no
//! more bytes are waiting. Bytes already read are still handed out, so a report covers them.

use std::io::{self, Read};
use std::sync::mpsc::{sync_channel, Receiver, RecvTimeoutError};
use std::time::Duration;

use crate::cancel::Cancel;

/// Bytes read per hand-over.
const BLOCK: usize = 64 * 1024;
/// Blocks that may wait in the channel (bounds memory to `BLOCK * DEPTH`).
const DEPTH: usize = 16;

/// A reader over standard input that ends early once its token is cancelled.
pub(crate) struct Interruptible {
    rx: Receiver<io::Result<Vec<u8>>>,
    pending: Vec<u8>,
    pos: usize,
    cancel: Cancel,
    done: bool,
}

impl Interruptible {
    /// Starts reading standard input on a thread. `cancel` is polled while no bytes are waiting.
    pub(crate) fn stdin(cancel: &Cancel) -> Interruptible {
        Interruptible::spawn(io::stdin(), cancel)
    }

    /// Same, over any reader.
    pub(crate) fn spawn(mut input: impl Read + Send + 'static, cancel: &Cancel) -> Interruptible {
        let (tx, rx) = sync_channel(DEPTH);
        std::thread::spawn(move || loop {
            let mut buf = vec![0u8; BLOCK];
            match input.read(&mut buf) {
                Ok(0) => break,
                Ok(n) => {
                    buf.truncate(n);
                    if tx.send(Ok(buf)).is_err() {
                        break;
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => {
                    let _ = tx.send(Err(e));
                    break;
                }
            }
        });
        Interruptible { rx, pending: Vec::new(), pos: 0, cancel: cancel.clone(), done: false }
    }
}

impl Read for Interruptible {
    fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
        while self.pos >= self.pending.len() {
            if self.done || out.is_empty() {
                return Ok(0);
            }
            match self.rx.recv_timeout(Duration::from_millis(50)) {
                Ok(Ok(buf)) => {
                    self.pending = buf;
                    self.pos = 0;
                }
                Ok(Err(e)) => return Err(e),
                Err(RecvTimeoutError::Disconnected) => {
                    self.done = true;
                }
                Err(RecvTimeoutError::Timeout) => {
                    if self.cancel.is_cancelled() {
                        self.done = true;
                    }
                }
            }
        }
        let n = out.len().min(self.pending.len() - self.pos);
        out[..n].copy_from_slice(&self.pending[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A reader that yields its bytes and then blocks forever, like a pipe left open.
    struct OpenPipe(Option<Vec<u8>>);

    impl Read for OpenPipe {
        fn read(&mut self, out: &mut [u8]) -> io::Result<usize> {
            match self.0.take() {
                Some(b) => {
                    out[..b.len()].copy_from_slice(&b);
                    Ok(b.len())
                }
                None => loop {
                    std::thread::sleep(Duration::from_secs(3600));
                },
            }
        }
    }

    #[test]
    fn reads_everything_then_ends_at_end_of_input() {
        let data: Vec<u8> = (0..200_000u32).map(|i| (i % 251) as u8).collect();
        let mut r = Interruptible::spawn(io::Cursor::new(data.clone()), &Cancel::new());
        let mut got = Vec::new();
        r.read_to_end(&mut got).expect("reads");
        assert_eq!(got, data);
    }

    #[test]
    fn a_stop_ends_a_read_that_would_block_but_keeps_the_bytes_read() {
        let cancel = Cancel::new();
        let mut r = Interruptible::spawn(OpenPipe(Some(b"token=abc\n".to_vec())), &cancel);
        let mut first = [0u8; 64];
        let n = r.read(&mut first).expect("reads");
        assert_eq!(&first[..n], b"token=abc\n");
        cancel.cancel();
        let mut rest = Vec::new();
        r.read_to_end(&mut rest).expect("ends");
        assert!(rest.is_empty());
    }
}
