//! `bench-server link`: a TCP hop with a delay, put between two tiers of a cluster to give
//! them a network distance this kernel cannot (no `netem`), modelled on toxiproxy.
//!
//! * [`schedule`] — when each chunk is due: delay, jitter, bandwidth, never reordered;
//! * [`conn`] — one connection's forwarding thread, precise to the scheduler's latency;
//! * [`toxics`] — stall, reset, refuse; [`stats`] — counters and the achieved delay;
//! * [`admin`] — `/metrics`, `/healthz` and the toxics on the admin port;
//! * [`command`] — the command line.
//!
//! Every accepted connection gets its own upstream connection and thread; a link carries a
//! cluster's hop (tens to hundreds of connections), not the internet.

pub mod admin;
pub mod command;
pub mod conn;
pub mod schedule;
pub mod stats;
pub mod toxics;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{Shutdown, SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authbench_contract::link::{Bandwidth, LinkArgs};
use tokio::net::TcpListener;

use conn::{Context, End, WakeLatency};
use schedule::Schedule;
use stats::LinkStats;
use toxics::Toxics;

/// Stack of a connection thread (its buffers live on the heap).
const THREAD_STACK: usize = 256 * 1024;

/// What a link does.
#[derive(Debug, Clone)]
pub struct LinkConfig {
    /// Where connections go.
    pub upstream: SocketAddr,
    /// One-way delay per direction.
    pub delay: Duration,
    /// ± this much, uniformly.
    pub jitter: Duration,
    /// Per direction and connection; `None`: unlimited.
    pub bandwidth: Option<Bandwidth>,
    /// Connections at once.
    pub max_connections: usize,
    /// Bound on the upstream connect.
    pub connect_timeout: Duration,
}

impl From<&LinkArgs> for LinkConfig {
    fn from(args: &LinkArgs) -> LinkConfig {
        LinkConfig {
            upstream: args.upstream,
            delay: args.delay.0,
            jitter: args.jitter.0,
            bandwidth: args.bandwidth,
            max_connections: args.max_connections,
            connect_timeout: args.connect_timeout.0,
        }
    }
}

/// A connection the admin port can reset.
#[derive(Debug)]
struct Open {
    reset: Arc<AtomicBool>,
    /// Handles on the two sockets (the thread owns the others), to wake and reset it.
    sockets: [TcpStream; 2],
}

/// A running link: configuration, toxics, counters and open connections.
#[derive(Debug)]
pub struct Link {
    /// What it does.
    pub config: LinkConfig,
    /// Faults in force.
    pub toxics: Toxics,
    /// Counters.
    pub stats: LinkStats,
    open: Mutex<HashMap<u64, Open>>,
    next_id: AtomicU64,
    wake: WakeLatency,
}

impl Link {
    /// A link with nothing open yet.
    pub fn new(config: LinkConfig) -> Arc<Link> {
        Arc::new(Link {
            config,
            toxics: Toxics::default(),
            stats: LinkStats::default(),
            open: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(0),
            wake: WakeLatency::default(),
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resets every open connection (RST to both peers); returns how many.
    pub fn reset_all(&self) -> usize {
        let open = self.open();
        for conn in open.values() {
            conn.reset.store(true, Ordering::Release);
            for socket in &conn.sockets {
                reset_on_close(socket);
                // Wakes the thread's poll; nothing goes on the wire.
                let _ = socket.shutdown(Shutdown::Read);
            }
        }
        open.len()
    }

    /// Closes every open connection (at shutdown).
    fn close_all(&self) {
        for conn in self.open().values() {
            for socket in &conn.sockets {
                let _ = socket.shutdown(Shutdown::Both);
            }
        }
    }

    /// Forwards one accepted client connection on its own thread.
    fn accept(self: &Arc<Self>, client: TcpStream) {
        let now = Instant::now();
        if self.toxics.refusing(now) {
            self.stats.refused.fetch_add(1, Ordering::Relaxed);
            reset_on_close(&client);
            return;
        }
        if self.stats.open.load(Ordering::Relaxed) >= self.config.max_connections as u64 {
            self.stats.over_limit.fetch_add(1, Ordering::Relaxed);
            reset_on_close(&client);
            return;
        }
        self.stats.open.fetch_add(1, Ordering::Relaxed);
        let link = Arc::clone(self);
        let spawned = std::thread::Builder::new()
            .name("link-conn".into())
            .stack_size(THREAD_STACK)
            .spawn(move || {
                link.forward(client);
                link.stats.open.fetch_sub(1, Ordering::Relaxed);
            });
        if let Err(err) = spawned {
            self.stats.open.fetch_sub(1, Ordering::Relaxed);
            tracing::warn!(cause = %err, "cannot start a connection thread; connection closed");
        }
    }

    /// Runs on the connection's thread.
    fn forward(&self, client: TcpStream) {
        precise_timers();
        let upstream = match TcpStream::connect_timeout(
            &self.config.upstream,
            self.config.connect_timeout,
        ) {
            Ok(s) => s,
            Err(err) => {
                self.stats.connect_errors.fetch_add(1, Ordering::Relaxed);
                tracing::debug!(cause = %err, upstream = %self.config.upstream, "upstream connect failed");
                reset_on_close(&client);
                return;
            }
        };
        let sockets = [client, upstream];
        let handles = match prepare(&sockets) {
            Ok(handles) => handles,
            Err(err) => {
                tracing::debug!(cause = %err, "cannot set up a connection");
                return;
            }
        };
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let reset = Arc::new(AtomicBool::new(false));
        self.open().insert(
            id,
            Open {
                reset: Arc::clone(&reset),
                sockets: handles,
            },
        );
        let schedule =
            || Schedule::new(self.config.delay, self.config.jitter, self.config.bandwidth);
        let cx = Context {
            toxics: &self.toxics,
            stats: &self.stats,
            reset: &reset,
            wake: &self.wake,
        };
        let (end, sockets) = conn::forward(sockets, [schedule(), schedule()], &cx);
        // The handles go first, so the sockets' last close is the one below.
        self.open().remove(&id);
        match end {
            End::Closed => {}
            End::Reset => {
                self.stats.resets.fetch_add(1, Ordering::Relaxed);
                sockets.iter().for_each(reset_on_close);
            }
            End::Failed(err) => {
                tracing::debug!(cause = %err, "connection ended");
                // The other side learns at once, not when it next writes.
                sockets.iter().for_each(reset_on_close);
            }
        }
    }
}

/// Non-blocking, no Nagle, receive times stamped by the kernel; returns a second handle on
/// each socket.
fn prepare(sockets: &[TcpStream; 2]) -> io::Result<[TcpStream; 2]> {
    for socket in sockets {
        socket.set_nodelay(true)?;
        socket.set_nonblocking(true)?;
        nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
            .map_err(io::Error::from)?;
    }
    Ok([sockets[0].try_clone()?, sockets[1].try_clone()?])
}

/// Makes the socket's close send RST instead of FIN (SO_LINGER 0).
fn reset_on_close(socket: &TcpStream) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::Linger, &linger);
}

/// Timer slack of the calling thread to 1 ns: its `ppoll` timeouts fire when due instead of
/// up to 50 µs later (the default slack), which is the whole precision of a 250 µs hop.
pub fn precise_timers() {
    if let Err(err) = nix::sys::prctl::set_timerslack(1) {
        tracing::warn!(cause = %err, "cannot set the timer slack; delays may run up to 50 µs long");
    }
}

/// Checks that the upstream accepts a connection (so a wrong `--upstream` fails at start).
pub fn check_upstream(config: &LinkConfig) -> io::Result<()> {
    TcpStream::connect_timeout(&config.upstream, config.connect_timeout).map(drop)
}

/// Forwards connections accepted on `listener` until `shutdown`; serves the admin port on
/// `admin` if given. Open connections are closed at shutdown.
pub async fn run(
    listener: TcpListener,
    admin: Option<TcpListener>,
    link: Arc<Link>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin_task = admin.map(|admin| {
        let link = Arc::clone(&link);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let handler = move |req| admin::handle(Arc::clone(&link), req);
            crate::balance::server::serve_http(admin, handler, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        })
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => match stream.into_std() {
                    Ok(stream) => link.accept(stream),
                    Err(err) => tracing::warn!(cause = %err, "cannot take over a connection"),
                },
                Err(err) => {
                    tracing::warn!(cause = %err, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            },
            () = &mut shutdown => break,
        }
    }
    drop(listener);
    link.close_all();
    let _ = stop_tx.send(true);
    if let Some(task) = admin_task {
        let _ = task.await;
    }
}
