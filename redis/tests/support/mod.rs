//! A real `redis-server` for the tests: started on a free loopback port,
//! killed on drop. Never a mock, never a silent skip: without `redis-server`
//! on `PATH` the test panics and says how to install it.

#![allow(dead_code, unreachable_pub)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use steadfast::{CircuitBreaker, Rejected, circuit_breaker};
use steadfast_redis::RedisStore;

/// How long a server may take to answer its first `PING`.
const READY_WITHIN: Duration = Duration::from_secs(10);

/// A `redis-server` of this test's own.
#[derive(Debug)]
pub struct RedisServer {
    port: u16,
    child: Option<Child>,
}

impl RedisServer {
    /// Starts a server on a free port of 127.0.0.1 (no persistence, quiet)
    /// and waits until it answers `PING`.
    ///
    /// # Panics
    ///
    /// If `redis-server` is not on `PATH`, or no server came up.
    pub fn start() -> RedisServer {
        // The free port may be taken between our probe and the server's
        // bind (another test starting a server): try a few.
        for _ in 0..5 {
            let port = free_port();
            let mut server = RedisServer { port, child: None };
            if server.spawn() {
                return server;
            }
        }
        panic!("redis-server did not start on any of 5 free ports");
    }

    /// Its port on 127.0.0.1.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Its URL.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// A plain (blocking) connection, for the test's own commands.
    pub fn connection(&self) -> redis::Connection {
        redis::Client::open(self.url())
            .expect("a valid URL")
            .get_connection()
            .expect("a connection to the test's redis-server")
    }

    /// Kills the server with SIGKILL (`kill -9`: no shutdown, connections
    /// reset) and waits until it is gone. Its data goes with it.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts a new server on the same port (after [`stop`](Self::stop)).
    ///
    /// # Panics
    ///
    /// If it does not come up (the port may linger a moment: retried for a
    /// few seconds).
    pub fn restart(&mut self) {
        self.stop();
        let deadline = Instant::now() + READY_WITHIN;
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "redis-server did not restart on port {}",
                self.port
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Spawns the server on `self.port`; `false` if it exited (the port was
    /// taken) before answering `PING`.
    fn spawn(&mut self) -> bool {
        let port = self.port.to_string();
        let spawned = Command::new("redis-server")
            .args(["--port", &port, "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(["--loglevel", "warning", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "redis-server not found: install Debian's `redis-server` package; \
                 the README's test command does"
            ),
            Err(e) => panic!("could not run redis-server: {e}"),
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if ping(self.port) {
                // Ours, not another test's server that won the port.
                if serving_pid(self.port) == Some(child.id()) {
                    self.child = Some(child);
                    return true;
                }
                let _ = child.kill();
                let _ = child.wait();
                return false;
            }
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!("redis-server on port {} did not answer PING", self.port);
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether a Redis server answers `PING` on `port`.
fn ping(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    let mut reply = [0; 7];
    stream.write_all(b"PING\r\n").is_ok()
        && stream.read_exact(&mut reply).is_ok()
        && &reply == b"+PONG\r\n"
}

/// The process id of the server answering on `port`.
fn serving_pid(port: u16) -> Option<u32> {
    let client = redis::Client::open(format!("redis://127.0.0.1:{port}")).ok()?;
    let mut connection = client.get_connection().ok()?;
    let info: String = redis::cmd("INFO")
        .arg("server")
        .query(&mut connection)
        .ok()?;
    info.lines()
        .find_map(|line| line.strip_prefix("process_id:"))
        .and_then(|pid| pid.trim().parse().ok())
}

/// The server's clock (Redis `TIME`), in µs.
pub fn server_time_us(connection: &mut redis::Connection) -> u64 {
    let (seconds, micros): (u64, u64) = redis::cmd("TIME").query(connection).expect("TIME answers");
    seconds * 1_000_000 + micros
}

/// Starts this test binary again as a replica: its ignored test `entry`,
/// with the Redis URL and `env` set, its output piped.
pub fn spawn_replica(entry: &str, url: &str, env: &[(&str, &str)]) -> Child {
    Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            entry,
            "--ignored",
            "--nocapture",
            "--test-threads=1",
        ])
        .env("STEADFAST_REPLICA_URL", url)
        .envs(env.iter().copied())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("a replica process")
}

/// What a replica printed after `marker`, once it exited successfully;
/// `who` names it in failures.
pub fn report(child: Child, marker: &str, who: &str) -> String {
    let output = child.wait_with_output().unwrap();
    assert!(output.status.success(), "{who} failed: {:?}", output.status);
    let stdout = String::from_utf8(output.stdout).unwrap();
    stdout
        .lines()
        // (libtest may print `test replica ... ` on the same line first.)
        .find_map(|line| line.split_once(marker).map(|(_, report)| report.to_owned()))
        .unwrap_or_else(|| panic!("no report from {who}:\n{stdout}"))
}

/// How a test's call through a policy ended: the upstream's own failure, or
/// a policy's rejection (its `From<Rejected>` is what the attributes need).
#[derive(Debug, PartialEq)]
pub enum CallError {
    Upstream,
    Rejected(Rejected),
}

impl From<Rejected> for CallError {
    fn from(rejected: Rejected) -> Self {
        CallError::Rejected(rejected)
    }
}

/// A store on `url` that lives as long as the test process (the policies
/// that use it are `'static`).
pub fn leak_store(url: &str) -> &'static RedisStore {
    Box::leak(Box::new(RedisStore::new(url).expect("a Redis URL")))
}

/// A call through `breaker` that fails when told to.
#[circuit_breaker(shared = breaker)]
pub async fn call_through(breaker: &CircuitBreaker, fail: bool) -> Result<(), CallError> {
    if fail {
        Err(CallError::Upstream)
    } else {
        Ok(())
    }
}
