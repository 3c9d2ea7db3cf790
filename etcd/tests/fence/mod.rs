//! The fenced log of the leader acceptance tests: a tiny line protocol on a
//! loopback TCP server run by the test process, which the replicas' bodies
//! report to.
//!
//! - `BEGIN token id` / `END token id`: a body started / ended (or was
//!   dropped). A `BEGIN` while another body is open is an **overlap**.
//! - `WRITE token id`: a write carrying the body's fencing token. The log
//!   refuses (`REJECT`) a token lower than the highest it has seen (a
//!   `BEGIN` counts as seen); otherwise it accepts (`OK`). An accepted write
//!   whose body is not open is a **stale write accepted**.

#![allow(dead_code, unreachable_pub)]

use std::collections::BTreeSet;
use std::io::{BufRead, BufReader, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, PoisonError};
use std::time::Instant;

/// What the log saw.
#[derive(Debug, Default)]
pub struct Seen {
    /// Bodies open now: (token, replica).
    pub open: BTreeSet<(u64, String)>,
    /// Every `BEGIN`: when, token, replica.
    pub begins: Vec<(Instant, u64, String)>,
    /// `BEGIN`s that found another body open.
    pub overlaps: u32,
    pub highest: u64,
    pub accepted: u64,
    /// Refused writes: (when, token, replica).
    pub rejected: Vec<(Instant, u64, String)>,
    /// Accepted writes of a body that was not open.
    pub stale_accepted: u64,
    /// Every accepted write: (when, replica).
    pub writes: Vec<(Instant, String)>,
}

/// The log server (in the test process).
#[derive(Debug, Clone)]
pub struct FenceLog {
    pub addr: String,
    seen: Arc<Mutex<Seen>>,
}

impl FenceLog {
    pub fn start() -> FenceLog {
        let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).unwrap();
        let addr = listener.local_addr().unwrap().to_string();
        let seen = Arc::new(Mutex::new(Seen::default()));
        let shared = seen.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming().flatten() {
                let seen = shared.clone();
                std::thread::spawn(move || serve(stream, &seen));
            }
        });
        FenceLog { addr, seen }
    }

    pub fn seen(&self) -> MutexGuard<'_, Seen> {
        self.seen.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Closes the bodies of a replica killed with `kill -9` (they never
    /// send `END`).
    pub fn forget(&self, replica: &str) {
        self.seen().open.retain(|(_, id)| id != replica);
    }
}

fn serve(stream: TcpStream, seen: &Mutex<Seen>) {
    let mut writer = stream.try_clone().unwrap();
    for line in BufReader::new(stream).lines() {
        let Ok(line) = line else { return };
        let mut parts = line.split(' ');
        let (Some(verb), Some(token), Some(id)) = (parts.next(), parts.next(), parts.next()) else {
            return;
        };
        let token: u64 = token.parse().unwrap();
        let body = (token, id.to_owned());
        let now = Instant::now();
        let reply = {
            let mut seen = seen.lock().unwrap_or_else(PoisonError::into_inner);
            match verb {
                "BEGIN" => {
                    if !seen.open.is_empty() {
                        seen.overlaps += 1;
                        eprintln!("fence log: {body:?} began while {:?} still open", seen.open);
                    }
                    seen.open.insert(body);
                    seen.begins.push((now, token, id.to_owned()));
                    seen.highest = seen.highest.max(token);
                    "OK"
                }
                "END" => {
                    seen.open.remove(&body);
                    "OK"
                }
                _ => {
                    if token < seen.highest {
                        seen.rejected.push((now, token, id.to_owned()));
                        "REJECT"
                    } else {
                        seen.highest = token;
                        seen.accepted += 1;
                        if !seen.open.contains(&body) {
                            seen.stale_accepted += 1;
                        }
                        seen.writes.push((now, id.to_owned()));
                        "OK"
                    }
                }
            }
        };
        if writeln!(writer, "{reply}").is_err() {
            return;
        }
    }
}

/// A replica's connection to the log.
struct Client {
    writer: TcpStream,
    reader: BufReader<TcpStream>,
}

fn client() -> MutexGuard<'static, Client> {
    static CLIENT: OnceLock<Mutex<Client>> = OnceLock::new();
    CLIENT
        .get_or_init(|| {
            let addr = std::env::var("FENCE_LOG").expect("FENCE_LOG");
            let stream = TcpStream::connect(addr).unwrap();
            stream.set_nodelay(true).unwrap();
            Mutex::new(Client {
                writer: stream.try_clone().unwrap(),
                reader: BufReader::new(stream),
            })
        })
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
}

/// The replica's id (`REPLICA`).
pub fn me() -> String {
    std::env::var("REPLICA").expect("REPLICA")
}

/// Sends one line and reads the answer: `true` for `OK`.
fn send(verb: &str, token: u64) -> bool {
    let mut client = client();
    writeln!(client.writer, "{verb} {token} {}", me()).unwrap();
    let mut reply = String::new();
    client.reader.read_line(&mut reply).unwrap();
    reply.trim() == "OK"
}

/// A write with `token`: whether the log accepted it (blocking: as a write
/// already under way when the process is paused).
pub fn write(token: u64) -> bool {
    send("WRITE", token)
}

/// An open body: `BEGIN` now, `END` when dropped (the body ended or was
/// cancelled).
pub struct Body(u64);

impl Body {
    pub fn begin(token: u64) -> Body {
        send("BEGIN", token);
        Body(token)
    }
}

impl Drop for Body {
    fn drop(&mut self) {
        send("END", self.0);
    }
}
