//! `bench-server link`: a TCP hop with a delay, put between two tiers of a cluster to give
//! them a network distance this kernel cannot (no `netem`), modelled on toxiproxy.
//!
//! * [`schedule`] — when each chunk is due: delay, jitter, bandwidth, never reordered;
//! * [`timer`] — a microsecond timer for tokio tasks (a `timerfd`, armed early by the
//!   measured wake-up latency);
//! * [`conn`] — one connection, both directions, each chunk written when due;
//! * [`toxics`] — stall, reset, refuse; [`stats`] — counters and the achieved delay;
//! * [`admin`] — `/metrics`, `/healthz` and the toxics on the admin port;
//! * [`command`] — the command line.
//!
//! Everything runs on one tokio thread (`bench-server link` uses the current-thread
//! scheduler): under load one wake-up serves every chunk that is due, which is what keeps
//! the link's CPU per forwarded message small.

pub mod admin;
pub mod command;
pub mod conn;
pub mod schedule;
pub mod stats;
pub mod timer;
pub mod toxics;

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::os::fd::AsFd;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use authbench_contract::link::{Bandwidth, LinkArgs};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Notify;

use conn::Shared;
use schedule::Schedule;
use stats::LinkStats;
use timer::PreciseTimer;
use toxics::Toxics;

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
    reset: Arc<Notify>,
    sockets: [Arc<conn::Socket>; 2],
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
        })
    }

    fn open(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Open>> {
        self.open.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Resets every open connection (RST to both peers); returns how many.
    pub fn reset_all(&self) -> usize {
        let open = self.open();
        for conn in open.values() {
            conn.sockets.iter().for_each(|s| reset_on_close(s.as_ref()));
            conn.reset.notify_one();
        }
        open.len()
    }

    /// Closes every open connection (at shutdown).
    fn close_all(&self) {
        for conn in self.open().values() {
            conn.reset.notify_one();
        }
    }

    /// Forwards one accepted client connection on a task of its own.
    fn accept(self: &Arc<Self>, client: TcpStream, timer: &Arc<PreciseTimer>) {
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
        let shared = Shared {
            link: Arc::clone(self),
            timer: Arc::clone(timer),
        };
        tokio::spawn(async move {
            shared.link.forward(client, &shared).await;
            shared.link.stats.open.fetch_sub(1, Ordering::Relaxed);
        });
    }

    async fn forward(&self, client: TcpStream, shared: &Shared) {
        let connect = TcpStream::connect(self.config.upstream);
        let upstream = match tokio::time::timeout(self.config.connect_timeout, connect).await {
            Ok(Ok(s)) => s,
            failed => {
                self.stats.connect_errors.fetch_add(1, Ordering::Relaxed);
                let cause = match failed {
                    Ok(Err(e)) => e.to_string(),
                    _ => "timed out".into(),
                };
                tracing::debug!(%cause, upstream = %self.config.upstream, "upstream connect failed");
                reset_on_close(&client);
                return;
            }
        };
        if let Err(err) = prepare(&client).and_then(|()| prepare(&upstream)) {
            tracing::debug!(cause = %err, "cannot set up a connection");
            return;
        }
        let sockets = match conn::socket(client).and_then(|c| Ok([c, conn::socket(upstream)?])) {
            Ok([client, upstream]) => [Arc::new(client), Arc::new(upstream)],
            Err(err) => {
                tracing::debug!(cause = %err, "cannot set up a connection");
                return;
            }
        };
        self.stats.connections.fetch_add(1, Ordering::Relaxed);
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let reset = Arc::new(Notify::new());
        self.open().insert(
            id,
            Open {
                reset: Arc::clone(&reset),
                sockets: [Arc::clone(&sockets[0]), Arc::clone(&sockets[1])],
            },
        );
        let schedule =
            || Schedule::new(self.config.delay, self.config.jitter, self.config.bandwidth);
        let forwarded = tokio::select! {
            result = conn::forward(&sockets[0], &sockets[1], [schedule(), schedule()], shared) => Some(result),
            () = reset.notified() => None,
        };
        // The registry's handles go first, so the sockets' last close is the one below.
        self.open().remove(&id);
        match forwarded {
            Some(Ok(())) => {}
            None => {
                if sockets.iter().any(lingers_zero) {
                    self.stats.resets.fetch_add(1, Ordering::Relaxed);
                }
            }
            Some(Err(err)) => {
                tracing::debug!(cause = %err, "connection ended");
                // The other side learns at once, not when it next writes.
                sockets.iter().for_each(|s| reset_on_close(s.as_ref()));
            }
        }
    }
}

/// No Nagle, receive times stamped by the kernel.
fn prepare(socket: &TcpStream) -> io::Result<()> {
    socket.set_nodelay(true)?;
    nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::ReceiveTimestampns, &true)
        .map_err(io::Error::from)
}

/// Makes the socket's close send RST instead of FIN (SO_LINGER 0).
fn reset_on_close(socket: &impl AsFd) {
    let linger = nix::libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    let _ = nix::sys::socket::setsockopt(socket, nix::sys::socket::sockopt::Linger, &linger);
}

/// Whether the socket was set to reset on close (by the reset toxic).
fn lingers_zero(socket: &impl AsFd) -> bool {
    nix::sys::socket::getsockopt(socket, nix::sys::socket::sockopt::Linger)
        .is_ok_and(|l| l.l_onoff != 0 && l.l_linger == 0)
}

/// Checks that the upstream accepts a connection (so a wrong `--upstream` fails at start).
pub fn check_upstream(config: &LinkConfig) -> io::Result<()> {
    std::net::TcpStream::connect_timeout(&config.upstream, config.connect_timeout).map(drop)
}

/// Timer slack of the calling thread to 1 ns: its timed sleeps end when due instead of up to
/// 50 µs later (the default slack). For threads that sleep with `nanosleep`, such as the
/// load generators of `scripts/bench-link`.
pub fn precise_timers() {
    if let Err(err) = nix::sys::prctl::set_timerslack(1) {
        tracing::warn!(cause = %err, "cannot set the timer slack; sleeps may run up to 50 µs long");
    }
}

/// Forwards connections accepted on `listener` until `shutdown`; serves the admin port on
/// `admin` if given. Open connections are closed at shutdown.
pub async fn run(
    listener: TcpListener,
    admin: Option<TcpListener>,
    link: Arc<Link>,
    shutdown: impl Future<Output = ()> + Send + 'static,
) -> io::Result<()> {
    let timer = PreciseTimer::start()?;
    timer.calibrate().await;
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    let admin_task = admin.map(|admin| {
        let link = Arc::clone(&link);
        let mut stop = stop_rx.clone();
        tokio::spawn(async move {
            let handler = move |req| admin::handle(Arc::clone(&link), req);
            let hardening = crate::conn::Hardening::new(crate::conn::ConnLimits::default(), 1);
            crate::conn::serve(admin, hardening, handler, async move {
                let _ = stop.wait_for(|s| *s).await;
            })
            .await;
        })
    });
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => link.accept(stream, &timer),
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
    Ok(())
}
