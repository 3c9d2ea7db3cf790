//! The server side of the soak test: a real HTTP/1.1 server (axum on hyper)
//! on 127.0.0.1, with faults chosen at random per request according to the
//! phase the test sets.
//!
//! | fault | what the client sees |
//! |---|---|
//! | none | `200` with a number, at once (or after 1–2 ms) |
//! | slow | `200` after 20–60 ms: a latency spike, beyond most client timeouts |
//! | error | `500` or `503` |
//! | throttle | `429` |
//! | reset | the TCP connection reset (RST) without an answer |
//! | hang | no answer, ever: the handler waits until the client goes away |
//!
//! A reset really resets: the server's listener hands hyper a stream wrapper
//! ([`Io`]) that shares a flag with the request's [`Conn`]. The handler sets
//! the flag; the wrapper then refuses to write the response, sets `SO_LINGER`
//! to zero and fails, so hyper drops the connection and the kernel answers
//! with an RST.
//!
//! The `x-soak-fault` request header forces a fault (for the test that checks
//! each fault on its own).

use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU8, AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::thread;
use std::time::Duration;

use axum::Router;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::serve::{IncomingStream, Listener};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::oneshot;

/// The request header that forces a fault.
pub(crate) const FAULT_HEADER: &str = "x-soak-fault";

/// What the server is going through.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Every request answered, at once or within 2 ms.
    Healthy,
    /// Random faults of every kind on about a fifth of the requests.
    Flaky,
    /// Every request fails: 503, reset or hang.
    Outage,
}

impl Phase {
    fn from_u8(value: u8) -> Phase {
        match value {
            0 => Phase::Healthy,
            1 => Phase::Flaky,
            _ => Phase::Outage,
        }
    }

    fn as_u8(self) -> u8 {
        match self {
            Phase::Healthy => 0,
            Phase::Flaky => 1,
            Phase::Outage => 2,
        }
    }
}

/// One request's fate.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Fault {
    None,
    Slow,
    Error,
    Throttle,
    Reset,
    Hang,
}

impl Fault {
    pub(crate) const ALL: [Fault; 6] = [
        Fault::None,
        Fault::Slow,
        Fault::Error,
        Fault::Throttle,
        Fault::Reset,
        Fault::Hang,
    ];

    pub(crate) fn name(self) -> &'static str {
        match self {
            Fault::None => "none",
            Fault::Slow => "slow",
            Fault::Error => "error",
            Fault::Throttle => "throttle",
            Fault::Reset => "reset",
            Fault::Hang => "hang",
        }
    }

    fn index(self) -> usize {
        self as usize
    }

    fn parse(name: &str) -> Option<Fault> {
        Fault::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// What the server did, by fault, and what is still running.
#[derive(Debug, Default)]
pub(crate) struct ServerCounts {
    /// Requests served, by [`Fault`].
    by_fault: [AtomicU64; 6],
    /// Requests received during an outage.
    outage: AtomicU64,
    /// Handlers running now.
    live: AtomicU64,
    /// Handlers hanging now.
    hanging: AtomicU64,
}

/// A copy of [`ServerCounts`].
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct ServerTally {
    pub(crate) by_fault: [u64; 6],
    pub(crate) outage: u64,
    pub(crate) live: u64,
    pub(crate) hanging: u64,
}

impl ServerTally {
    pub(crate) fn requests(&self) -> u64 {
        self.by_fault.iter().sum()
    }

    pub(crate) fn of(&self, fault: Fault) -> u64 {
        self.by_fault[fault.index()]
    }
}

/// State shared by the handlers and the test.
#[derive(Debug)]
pub(crate) struct Shared {
    phase: AtomicU8,
    counts: ServerCounts,
    /// Numbers the answers (the body of a `200`).
    next: AtomicU64,
}

impl Shared {
    pub(crate) fn set_phase(&self, phase: Phase) {
        self.phase.store(phase.as_u8(), Ordering::SeqCst);
    }

    pub(crate) fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::SeqCst))
    }

    pub(crate) fn tally(&self) -> ServerTally {
        let c = &self.counts;
        let get = |n: &AtomicU64| n.load(Ordering::SeqCst);
        ServerTally {
            by_fault: std::array::from_fn(|i| get(&c.by_fault[i])),
            outage: get(&c.outage),
            live: get(&c.live),
            hanging: get(&c.hanging),
        }
    }

    fn plan(&self) -> Fault {
        match self.phase() {
            Phase::Healthy => Fault::None,
            Phase::Flaky => {
                let roll: f64 = rand::random();
                match roll {
                    r if r < 0.06 => Fault::Error,
                    r if r < 0.09 => Fault::Throttle,
                    r if r < 0.13 => Fault::Slow,
                    r if r < 0.16 => Fault::Reset,
                    r if r < 0.18 => Fault::Hang,
                    _ => Fault::None,
                }
            }
            Phase::Outage => match rand::random_range(0..10) {
                0..6 => Fault::Error,
                6..8 => Fault::Reset,
                _ => Fault::Hang,
            },
        }
    }
}

/// A running server on 127.0.0.1, on its own thread and runtime; it stops
/// (dropping every connection) when this is dropped.
#[derive(Debug)]
pub(crate) struct Server {
    pub(crate) addr: SocketAddr,
    pub(crate) shared: Arc<Shared>,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<thread::JoinHandle<()>>,
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Starts the server on an ephemeral port of 127.0.0.1, in `phase`.
pub(crate) fn start(phase: Phase) -> Server {
    let shared = Arc::new(Shared {
        phase: AtomicU8::new(phase.as_u8()),
        counts: ServerCounts::default(),
        next: AtomicU64::new(1),
    });
    let (addr_tx, addr_rx) = std::sync::mpsc::channel();
    let (stop_tx, stop_rx) = oneshot::channel::<()>();
    let state = Arc::clone(&shared);
    let thread = thread::Builder::new()
        .name("soak-server".into())
        .spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("server runtime");
            runtime.block_on(async move {
                let listener = TcpListener::bind(("127.0.0.1", 0))
                    .await
                    .expect("bind 127.0.0.1:0");
                addr_tx
                    .send(listener.local_addr().expect("local address"))
                    .expect("send the address");
                let app = Router::new().fallback(handle).with_state(state);
                let serve = axum::serve(
                    Resetting(listener),
                    app.into_make_service_with_connect_info::<Conn>(),
                );
                tokio::select! {
                    result = serve => result.expect("the soak server stopped"),
                    _ = stop_rx => {}
                }
            });
            // Dropping the runtime drops every connection and handler.
        })
        .expect("spawn the server thread");
    let addr = addr_rx.recv().expect("the server's address");
    Server {
        addr,
        shared,
        stop: Some(stop_tx),
        thread: Some(thread),
    }
}

/// Counts a running handler (and a hanging one) until dropped.
struct Gauge<'a>(&'a AtomicU64);

impl<'a> Gauge<'a> {
    fn up(counter: &'a AtomicU64) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Gauge(counter)
    }
}

impl Drop for Gauge<'_> {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<Conn>,
    headers: HeaderMap,
) -> Response {
    let counts = &shared.counts;
    let _live = Gauge::up(&counts.live);
    let forced = headers
        .get(FAULT_HEADER)
        .and_then(|v| v.to_str().ok())
        .and_then(Fault::parse);
    if shared.phase() == Phase::Outage {
        counts.outage.fetch_add(1, Ordering::Relaxed);
    }
    let fault = forced.unwrap_or_else(|| shared.plan());
    counts.by_fault[fault.index()].fetch_add(1, Ordering::Relaxed);
    let answer = || {
        let n = shared.next.fetch_add(1, Ordering::Relaxed);
        (StatusCode::OK, n.to_string()).into_response()
    };
    match fault {
        Fault::None => {
            if rand::random_bool(0.2) {
                tokio::time::sleep(Duration::from_millis(rand::random_range(1..3))).await;
            }
            answer()
        }
        Fault::Slow => {
            tokio::time::sleep(Duration::from_millis(rand::random_range(20..60))).await;
            answer()
        }
        Fault::Error => {
            if rand::random_bool(0.5) {
                StatusCode::INTERNAL_SERVER_ERROR.into_response()
            } else {
                StatusCode::SERVICE_UNAVAILABLE.into_response()
            }
        }
        Fault::Throttle => StatusCode::TOO_MANY_REQUESTS.into_response(),
        Fault::Reset => {
            conn.reset();
            // Never written: the connection fails on the first write.
            StatusCode::OK.into_response()
        }
        Fault::Hang => {
            let _hanging = Gauge::up(&counts.hanging);
            // hyper drops this handler when the client closes the connection.
            std::future::pending::<Response>().await
        }
    }
}

/// A connection, as its handlers see it: they can reset it.
#[derive(Debug, Clone)]
pub(crate) struct Conn(Arc<AtomicBool>);

impl Conn {
    fn reset(&self) {
        self.0.store(true, Ordering::SeqCst);
    }
}

impl Connected<IncomingStream<'_, Resetting>> for Conn {
    fn connect_info(stream: IncomingStream<'_, Resetting>) -> Self {
        stream.remote_addr().clone()
    }
}

/// A TCP listener whose connections a handler can reset.
pub(crate) struct Resetting(TcpListener);

impl Listener for Resetting {
    type Io = Io;
    type Addr = Conn;

    async fn accept(&mut self) -> (Io, Conn) {
        loop {
            match self.0.accept().await {
                Ok((stream, _)) => {
                    let _ = stream.set_nodelay(true);
                    let reset = Arc::new(AtomicBool::new(false));
                    let conn = Conn(Arc::clone(&reset));
                    return (Io { stream, reset }, conn);
                }
                // Out of file descriptors, for instance: try again shortly.
                Err(_) => tokio::time::sleep(Duration::from_millis(5)).await,
            }
        }
    }

    fn local_addr(&self) -> io::Result<Conn> {
        self.0.local_addr()?;
        Ok(Conn(Arc::new(AtomicBool::new(false))))
    }
}

/// A server-side TCP stream that fails, and resets the connection, once its
/// [`Conn`] says so.
pub(crate) struct Io {
    stream: TcpStream,
    reset: Arc<AtomicBool>,
}

impl Io {
    fn check(&self) -> io::Result<()> {
        if self.reset.load(Ordering::SeqCst) {
            // Zero linger: closing sends an RST instead of a FIN.
            let _ = self.stream.set_zero_linger();
            return Err(io::ErrorKind::ConnectionReset.into());
        }
        Ok(())
    }
}

impl AsyncRead for Io {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_read(cx, buf)
    }
}

impl AsyncWrite for Io {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.stream.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        Pin::new(&mut this.stream).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().stream).poll_shutdown(cx)
    }
}
