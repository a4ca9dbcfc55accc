//! A one-shot local HTTP server for webhook tests: it answers each request on 127.0.0.1 with the
//! next of a list of statuses and keeps the bodies it received.
//!
//! One file serves both kinds of tests: the integration tests have it as `common::http`, and the
//! library's unit tests include it as `testutil::http` (`#[path]` in src/testutil.rs). So it uses
//! the standard library only.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// A running server.
pub struct Server {
    /// `http://127.0.0.1:PORT/hook`.
    pub url: String,
    /// The request bodies received, in order.
    pub bodies: Arc<Mutex<Vec<String>>>,
}

/// Starts a server on a free port that answers each request with the next status of `statuses`
/// (the last one repeats; 200 if there is none) and keeps the bodies it received. It runs on a
/// thread of its own until the test process ends.
pub fn serve(statuses: Vec<u16>) -> Server {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}/hook", listener.local_addr().expect("addr"));
    let bodies = Arc::new(Mutex::new(Vec::new()));
    let seen = Arc::clone(&bodies);
    std::thread::spawn(move || {
        for (n, stream) in listener.incoming().enumerate() {
            let Ok(mut stream) = stream else { continue };
            let mut reader = BufReader::new(stream.try_clone().expect("clone"));
            let mut len = 0usize;
            loop {
                let mut line = String::new();
                if reader.read_line(&mut line).unwrap_or(0) == 0 || line == "\r\n" {
                    break;
                }
                if let Some(v) = line.to_ascii_lowercase().strip_prefix("content-length:") {
                    len = v.trim().parse().unwrap_or(0);
                }
            }
            let mut body = vec![0u8; len];
            let _ = reader.read_exact(&mut body);
            seen.lock().expect("lock").push(String::from_utf8_lossy(&body).into_owned());
            let status = statuses.get(n).or(statuses.last()).copied().unwrap_or(200);
            let _ = write!(stream, "HTTP/1.1 {status} X\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok");
        }
    });
    Server { url, bodies }
}
