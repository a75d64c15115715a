//! One forwarded connection: both directions at once, each chunk written when its
//! [`Schedule`] says it is due.
//!
//! Each direction reads a chunk, stamps it with the kernel's receive time
//! (`SO_TIMESTAMPNS`: the wake-up that follows "readable" stays out of the hop), and hands
//! it to its writer, which sleeps on the link's [`PreciseTimer`] until the chunk is due and
//! writes it. Reading goes on meanwhile, so a stream with several chunks in flight (a
//! multiplexed Redis connection) keeps each chunk's own delay; a bounded queue stops reading
//! when the receiver does not keep up.
//!
//! Closing follows the peers: a FIN from one side is forwarded (after the delay, behind the
//! bytes before it) as a half-close to the other; the connection ends when both directions
//! are closed, or at once when either side resets or fails, so a dead upstream never leaves
//! the client hanging.

use std::io::{self, IoSliceMut};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::time::TimeSpec;
use std::io::Write as _;
use std::net::TcpStream;

use tokio::io::unix::AsyncFd;
use tokio::io::Interest;
use tokio::sync::mpsc;

use super::schedule::Schedule;
use super::stats::{Direction, LinkStats};
use super::timer::PreciseTimer;
use super::toxics::Toxics;

/// Bytes read at once.
const READ_SIZE: usize = 64 * 1024;
/// Chunks a direction holds before it stops reading (back-pressure on the sender).
const MAX_HELD: usize = 256;
/// The oldest receive time believed: older stamps (a clock step) fall back to now.
const MAX_AGE: Duration = Duration::from_millis(100);

/// A connected socket as the reactor sees it. Not tokio's `TcpStream`: after a read that
/// drained the socket, its readiness is cleared at once instead of by one more `recvmsg`
/// that fails with `EAGAIN` — a system call saved per chunk.
pub type Socket = AsyncFd<TcpStream>;

/// Hands a connected stream to the reactor as a [`Socket`].
#[allow(unsafe_code)]
pub fn socket(stream: tokio::net::TcpStream) -> io::Result<Socket> {
    let stream = stream.into_std()?;
    stream.set_nonblocking(true)?;
    // SAFETY: the `TcpStream` owns its descriptor, which stays open and the same for as
    // long as the `AsyncFd` owns the stream; `as_raw_fd` always returns it.
    unsafe { AsyncFd::register_with_interest(stream, Interest::READABLE | Interest::WRITABLE) }
        .map_err(io::Error::from)
}

/// What a direction shares with the rest of the link.
#[derive(Debug, Clone)]
pub struct Shared {
    /// The link: toxics and counters.
    pub link: Arc<super::Link>,
    /// The link's timer.
    pub timer: Arc<PreciseTimer>,
}

impl Shared {
    fn toxics(&self) -> &Toxics {
        &self.link.toxics
    }

    fn stats(&self) -> &LinkStats {
        &self.link.stats
    }
}

enum Item {
    Chunk {
        arrived: Instant,
        due: Instant,
        data: Vec<u8>,
    },
    /// The sender closed; its FIN is due then.
    Eof { due: Instant },
}

/// Forwards both ways between `client` and `upstream` until both sides closed (`Ok`) or
/// one failed (`Err`).
pub async fn forward(
    client: &Socket,
    upstream: &Socket,
    schedules: [Schedule; 2],
    shared: &Shared,
) -> io::Result<()> {
    let [up, down] = schedules;
    tokio::try_join!(
        direction(client, upstream, up, Direction::Up, shared),
        direction(upstream, client, down, Direction::Down, shared),
    )
    .map(drop)
}

async fn direction(
    from: &Socket,
    to: &Socket,
    schedule: Schedule,
    which: Direction,
    shared: &Shared,
) -> io::Result<()> {
    let (tx, rx) = mpsc::channel(MAX_HELD);
    tokio::try_join!(
        read_side(from, schedule, tx),
        write_side(to, rx, which, shared)
    )
    .map(drop)
}

async fn read_side(
    from: &Socket,
    mut schedule: Schedule,
    tx: mpsc::Sender<Item>,
) -> io::Result<()> {
    let mut buf = vec![0u8; READ_SIZE];
    loop {
        let mut guard = from.readable().await?;
        let Ok(read) = guard.try_io(|socket| read_stamped(socket.get_ref(), &mut buf)) else {
            continue; // would block: readiness cleared
        };
        if read.as_ref().is_ok_and(|(n, _)| *n > 0 && *n < buf.len()) {
            // Drained (a later arrival raises readiness again; tokio keeps that edge).
            guard.clear_ready();
        }
        drop(guard);
        let now = Instant::now();
        let item = match read {
            Ok((0, _)) => Item::Eof {
                due: schedule.release(now, 0),
            },
            Ok((n, age)) => {
                let arrived = age
                    .and_then(|age| now.checked_sub(age.min(MAX_AGE)))
                    .unwrap_or(now);
                Item::Chunk {
                    arrived,
                    due: schedule.release(arrived, n),
                    data: buf[..n].to_vec(),
                }
            }
            Err(e) => return Err(e),
        };
        let eof = matches!(item, Item::Eof { .. });
        if tx.send(item).await.is_err() || eof {
            return Ok(());
        }
    }
}

async fn write_side(
    to: &Socket,
    mut rx: mpsc::Receiver<Item>,
    which: Direction,
    shared: &Shared,
) -> io::Result<()> {
    while let Some(item) = rx.recv().await {
        let due = match &item {
            Item::Chunk { due, .. } | Item::Eof { due } => *due,
        };
        shared.timer.sleep_until(due).await;
        while let Some(until) = shared.toxics().stalled_until(Instant::now()) {
            shared.timer.sleep_until(until).await;
        }
        match item {
            Item::Chunk { arrived, data, .. } => {
                write_all(to, &data).await?;
                shared
                    .stats()
                    .forwarded(which, data.len(), arrived.elapsed());
            }
            Item::Eof { .. } => {
                // The peer may be gone already; the close that follows tells it either way.
                let _ = nix::sys::socket::shutdown(
                    to.get_ref().as_fd().as_raw_fd(),
                    nix::sys::socket::Shutdown::Write,
                );
                return Ok(());
            }
        }
    }
    Ok(())
}

async fn write_all(to: &Socket, mut data: &[u8]) -> io::Result<()> {
    while !data.is_empty() {
        let mut guard = to.writable().await?;
        if let Ok(written) = guard.try_io(|socket| socket.get_ref().write(data)) {
            data = &data[written?..];
        }
    }
    Ok(())
}

/// Reads into `buf`, with how long ago the kernel received the last of those bytes
/// (`SO_TIMESTAMPNS`, set in [`super::prepare`]).
fn read_stamped(socket: &TcpStream, buf: &mut [u8]) -> io::Result<(usize, Option<Duration>)> {
    let mut iov = [IoSliceMut::new(buf)];
    let mut space = nix::cmsg_space!(TimeSpec);
    let msg = loop {
        match recvmsg::<()>(
            socket.as_raw_fd(),
            &mut iov,
            Some(&mut space),
            MsgFlags::empty(),
        ) {
            Err(Errno::EINTR) => {}
            other => break other.map_err(io::Error::from)?,
        }
    };
    let mut age = None;
    if let Ok(cmsgs) = msg.cmsgs() {
        for cmsg in cmsgs {
            if let ControlMessageOwned::ScmTimestampns(ts) = cmsg {
                let received = Duration::new(
                    u64::try_from(ts.tv_sec()).unwrap_or(0),
                    u32::try_from(ts.tv_nsec()).unwrap_or(0),
                );
                age = SystemTime::now()
                    .duration_since(UNIX_EPOCH)
                    .ok()
                    .and_then(|now| now.checked_sub(received));
            }
        }
    }
    Ok((msg.bytes, age))
}
