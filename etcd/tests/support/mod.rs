//! A real `etcd` for the tests: started on free loopback ports with a data
//! directory of its own, stopped (and the directory removed) on drop; it can
//! be killed and restarted on the same ports and data, as the acceptance
//! tests need. Never a mock, never a silent skip: without `etcd` on `PATH`
//! the test panics and says how to install it.

#![allow(dead_code, unreachable_pub)]

use std::io::{ErrorKind, Read, Write};
use std::net::{Ipv4Addr, TcpListener, TcpStream};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// How long a server may take to answer its first health check.
const READY_WITHIN: Duration = Duration::from_secs(20);

/// An `etcd` of this test's own.
#[derive(Debug)]
pub struct EtcdServer {
    client_port: u16,
    peer_port: u16,
    data_dir: PathBuf,
    child: Option<Child>,
}

impl EtcdServer {
    /// Starts a one-member cluster on free ports of 127.0.0.1, with a fresh
    /// data directory, and waits until it answers `/health`.
    ///
    /// # Panics
    ///
    /// If `etcd` is not on `PATH`, or no server came up.
    pub fn start() -> EtcdServer {
        static NEXT: AtomicU32 = AtomicU32::new(0);
        // A free port may be taken between our probe and etcd's bind
        // (another test starting a server): try a few.
        for _ in 0..5 {
            let data_dir = std::env::temp_dir().join(format!(
                "steadfast-etcd-test-{}-{}",
                std::process::id(),
                NEXT.fetch_add(1, Ordering::Relaxed)
            ));
            let _ = std::fs::remove_dir_all(&data_dir);
            let mut server = EtcdServer {
                client_port: free_port(),
                peer_port: free_port(),
                data_dir,
                child: None,
            };
            if server.spawn() {
                return server;
            }
        }
        panic!("etcd did not start on any of 5 pairs of free ports");
    }

    /// Its client endpoint, `http://127.0.0.1:{port}`.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.client_port)
    }

    /// Its client port on 127.0.0.1.
    pub fn client_port(&self) -> u16 {
        self.client_port
    }

    /// Whether it is running.
    pub fn is_running(&self) -> bool {
        self.child.is_some()
    }

    /// Kills the server with SIGKILL (`kill -9`: no shutdown, connections
    /// reset) and waits until it is gone. Its data directory stays.
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Stops the server with SIGTERM (a clean shutdown) and waits until it
    /// is gone (SIGKILL after 10 s). Its data directory stays.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if let Ok(Some(_)) = child.try_wait() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    /// Starts the server again on the same ports and data directory (after
    /// [`kill`](Self::kill) or [`stop`](Self::stop)): its keys and leases
    /// are back.
    ///
    /// # Panics
    ///
    /// If it does not come up (a port may linger a moment: retried for a
    /// few seconds).
    pub fn restart(&mut self) {
        self.kill();
        let deadline = Instant::now() + READY_WITHIN;
        while !self.spawn() {
            assert!(
                Instant::now() < deadline,
                "etcd did not restart on ports {}/{} (see {})",
                self.client_port,
                self.peer_port,
                self.log_path().display()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_path(&self) -> PathBuf {
        self.data_dir.with_extension("log")
    }

    /// Spawns etcd on `self`'s ports; `false` if it exited (a port was
    /// taken) before answering.
    fn spawn(&mut self) -> bool {
        let client = format!("http://127.0.0.1:{}", self.client_port);
        let peer = format!("http://127.0.0.1:{}", self.peer_port);
        let log = std::fs::File::create(self.log_path()).expect("etcd's log file");
        let spawned = Command::new("etcd")
            .args(["--name", "steadfast-test"])
            .arg("--data-dir")
            .arg(&self.data_dir)
            .args(["--listen-client-urls", &client])
            .args(["--advertise-client-urls", &client])
            .args(["--listen-peer-urls", &peer])
            .args(["--initial-advertise-peer-urls", &peer])
            .args(["--initial-cluster", &format!("steadfast-test={peer}")])
            .args(["--initial-cluster-state", "new"])
            .args(["--logger", "zap", "--log-outputs", "stderr"])
            .args(["--log-level", "warn"])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(log)
            .spawn();
        let mut child = match spawned {
            Ok(child) => child,
            Err(e) if e.kind() == ErrorKind::NotFound => panic!(
                "etcd not found: install Debian's `etcd-server` package; \
                 the README's test command (scripts/test.sh) does"
            ),
            Err(e) => panic!("could not run etcd: {e}"),
        };
        let deadline = Instant::now() + READY_WITHIN;
        loop {
            if let Ok(Some(_)) = child.try_wait() {
                return false;
            }
            if healthy(self.client_port) {
                self.child = Some(child);
                return true;
            }
            if Instant::now() >= deadline {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "etcd on port {} did not answer /health within {READY_WITHIN:?} (see {})",
                    self.client_port,
                    self.log_path().display()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for EtcdServer {
    fn drop(&mut self) {
        self.kill();
        let _ = std::fs::remove_dir_all(&self.data_dir);
        let _ = std::fs::remove_file(self.log_path());
    }
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind((Ipv4Addr::LOCALHOST, 0))
        .and_then(|listener| listener.local_addr())
        .expect("a free loopback port")
        .port()
}

/// Whether an etcd answers `GET /health` with `"health":"true"` on `port`.
fn healthy(port: u16) -> bool {
    let Ok(mut stream) = TcpStream::connect((Ipv4Addr::LOCALHOST, port)) else {
        return false;
    };
    let _ = stream.set_read_timeout(Some(Duration::from_millis(500)));
    if stream
        .write_all(b"GET /health HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n")
        .is_err()
    {
        return false;
    }
    let mut reply = String::new();
    let _ = stream.read_to_string(&mut reply);
    reply.contains("\"health\":\"true\"")
}
