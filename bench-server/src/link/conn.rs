//! One forwarded connection: a thread moves bytes both ways between the client and the
//! upstream, each chunk written when its [`Schedule`] says it is due.
//!
//! Why a thread with `ppoll` and not a tokio task: tokio's timer has millisecond
//! granularity, and a sub-millisecond delay released a millisecond late is a different
//! network. `ppoll` takes a nanosecond timeout, and with the thread's timer slack set to
//! 1 ns (see [`super::precise_timers`]) the kernel wakes it within scheduler latency of the
//! due time. The thread sleeps until the next chunk is due *or* a socket is readable, so
//! arrivals are stamped when they happen and streams with several chunks in flight (a
//! multiplexed Redis connection) keep each chunk's own delay.
//!
//! Closing follows the peers: a FIN from one side is forwarded (after the delay, behind the
//! bytes before it) as a half-close to the other; the connection ends when both directions
//! are closed, or at once when either side resets or fails, so a dead upstream never leaves
//! the client hanging.

use std::collections::VecDeque;
use std::io::{self, IoSliceMut, Write};
use std::net::{Shutdown, TcpStream};
use std::os::fd::{AsFd, AsRawFd};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use nix::errno::Errno;
use nix::poll::{ppoll, PollFd, PollFlags};
use nix::sys::socket::{recvmsg, ControlMessageOwned, MsgFlags};
use nix::sys::time::TimeSpec;

use super::schedule::Schedule;
use super::stats::{Direction, LinkStats};
use super::toxics::Toxics;

/// Bytes read at once.
const READ_SIZE: usize = 64 * 1024;
/// Bytes a direction holds before it stops reading (back-pressure on the sender).
const MAX_HELD: usize = 4 * 1024 * 1024;

/// How a connection ended.
#[derive(Debug)]
pub enum End {
    /// Both sides closed.
    Closed,
    /// The reset toxic ended it.
    Reset,
    /// A side reset or failed (the other is closed too).
    Failed(io::Error),
}

/// What the forwarding loop reads besides its sockets.
#[derive(Debug)]
pub struct Context<'a> {
    /// Stall and the like.
    pub toxics: &'a Toxics,
    /// Counters.
    pub stats: &'a LinkStats,
    /// Set when the connection is to be reset.
    pub reset: &'a std::sync::atomic::AtomicBool,
    /// How late timed wake-ups run, shared by the link's threads.
    pub wake: &'a WakeLatency,
}

/// How late a timed wake-up runs on this machine (scheduler and timer latency), learnt
/// from every timed wake as a moving average. The forwarding loop asks to be woken this
/// much before a chunk is due, so that chunks are written on time on average instead of
/// always this late (the same idea as KVM's `lapic_timer_advance`). If the wake comes early
/// the loop spins the remaining microseconds.
#[derive(Debug, Default)]
pub struct WakeLatency {
    nanos: AtomicU64,
}

/// The most a wake-up is advanced: beyond it, a machine this slow is reported as lateness.
const MAX_ADVANCE: Duration = Duration::from_micros(100);

impl WakeLatency {
    /// The current estimate.
    pub fn advance(&self) -> Duration {
        Duration::from_nanos(self.nanos.load(Relaxed))
    }

    /// Learns from a wake asked for `asked` that came at `woke`.
    pub fn observe(&self, asked: Instant, woke: Instant) {
        let late = woke.saturating_duration_since(asked).min(MAX_ADVANCE);
        let late = u64::try_from(late.as_nanos()).unwrap_or(0);
        let old = self.nanos.load(Relaxed);
        // Weight 1/8: follows a change of load within tens of wakes, shrugs off one outlier.
        let new = (old * 7 + late) / 8;
        self.nanos.store(new, Relaxed);
    }
}

struct Chunk {
    arrived: Instant,
    due: Instant,
    data: Vec<u8>,
    written: usize,
}

/// The oldest receive time believed: older stamps (a clock step) fall back to now.
const MAX_AGE: Duration = Duration::from_millis(100);

/// Reads into `buf`, with how long ago the kernel received the last of those bytes
/// (`SO_TIMESTAMPNS`, see [`super::prepare`]). The poll that said "readable" woke this
/// thread some microseconds after the bytes arrived; timing the delay from the kernel's
/// stamp keeps that wake-up out of the hop.
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

/// One direction: reads from socket `from`, writes to socket `to`.
struct Pipe {
    direction: Direction,
    from: usize,
    to: usize,
    schedule: Schedule,
    queue: VecDeque<Chunk>,
    held: usize,
    /// The sender closed; its FIN is due then.
    eof_due: Option<Instant>,
    /// The FIN was forwarded.
    shut: bool,
    /// The last write would have blocked: wait for the socket to be writable.
    blocked: bool,
}

impl Pipe {
    fn new(direction: Direction, schedule: Schedule) -> Pipe {
        let (from, to) = match direction {
            Direction::Up => (0, 1),
            Direction::Down => (1, 0),
        };
        Pipe {
            direction,
            from,
            to,
            schedule,
            queue: VecDeque::new(),
            held: 0,
            eof_due: None,
            shut: false,
            blocked: false,
        }
    }

    fn reading(&self) -> bool {
        self.eof_due.is_none() && self.held < MAX_HELD
    }

    /// When this direction next has something to do, unless it waits for writability.
    fn next_due(&self) -> Option<Instant> {
        if self.blocked || self.shut {
            return None;
        }
        match self.queue.front() {
            Some(chunk) => Some(chunk.due),
            None => self.eof_due,
        }
    }

    /// Reads what is there, stamping each chunk with the kernel's receive time (or `now`
    /// without one); a read of nothing schedules the FIN.
    fn read(&mut self, socket: &TcpStream, buf: &mut [u8], now: Instant) -> io::Result<()> {
        while self.reading() {
            match read_stamped(socket, buf) {
                Ok((0, _)) => {
                    self.eof_due = Some(self.schedule.release(now, 0));
                }
                Ok((n, age)) => {
                    let arrived = age
                        .and_then(|age| now.checked_sub(age.min(MAX_AGE)))
                        .unwrap_or(now);
                    let due = self.schedule.release(arrived, n);
                    self.queue.push_back(Chunk {
                        arrived,
                        due,
                        data: buf[..n].to_vec(),
                        written: 0,
                    });
                    self.held += n;
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => return Ok(()),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Writes every chunk due by `now`, then the FIN if it is due.
    fn flush(&mut self, socket: &mut TcpStream, now: Instant, stats: &LinkStats) -> io::Result<()> {
        while let Some(chunk) = self.queue.front_mut() {
            if chunk.due > now {
                return Ok(());
            }
            match socket.write(&chunk.data[chunk.written..]) {
                Ok(n) => {
                    chunk.written += n;
                    if chunk.written == chunk.data.len() {
                        let done = Instant::now();
                        stats.forwarded(self.direction, chunk.data.len(), done - chunk.arrived);
                        self.held -= chunk.data.len();
                        self.queue.pop_front();
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    self.blocked = true;
                    return Ok(());
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        if !self.shut && self.eof_due.is_some_and(|t| t <= now) {
            // The peer may be gone already; the close that follows tells it either way.
            let _ = socket.shutdown(Shutdown::Write);
            self.shut = true;
        }
        Ok(())
    }
}

/// Forwards between `client` and `upstream` (both non-blocking) until both sides closed,
/// one failed, or the reset flag is set. Each direction gets its own schedule.
pub fn forward(
    mut sockets: [TcpStream; 2],
    schedules: [Schedule; 2],
    cx: &Context<'_>,
) -> (End, [TcpStream; 2]) {
    let [up, down] = schedules;
    let mut pipes = [
        Pipe::new(Direction::Up, up),
        Pipe::new(Direction::Down, down),
    ];
    let mut buf = vec![0u8; READ_SIZE];
    let end = loop {
        if cx.reset.load(std::sync::atomic::Ordering::Acquire) {
            break End::Reset;
        }
        let now = Instant::now();
        let stalled = cx.toxics.stalled_until(now);
        if stalled.is_none() {
            let mut failed = None;
            for pipe in &mut pipes {
                if let Err(e) = pipe.flush(&mut sockets[pipe.to], now, cx.stats) {
                    failed = Some(e);
                    break;
                }
            }
            if let Some(e) = failed {
                break End::Failed(e);
            }
        }
        if pipes.iter().all(|p| p.shut) {
            break End::Closed;
        }
        let next = match stalled {
            Some(until) => Some(until),
            None => pipes.iter().filter_map(Pipe::next_due).min(),
        };
        let now = Instant::now();
        let wake_at = next.map(|t| t.checked_sub(cx.wake.advance()).unwrap_or(t));
        let timeout = wake_at.map(|t| t.saturating_duration_since(now));
        if let (Some(due), Some(Duration::ZERO)) = (next, timeout) {
            if due > now {
                // Woken early by the advance: the last microseconds are cheaper spun.
                std::hint::spin_loop();
            }
            continue;
        }
        let mut events = [PollFlags::empty(); 2];
        for pipe in &pipes {
            if pipe.reading() {
                events[pipe.from] |= PollFlags::POLLIN;
            }
            if pipe.blocked {
                events[pipe.to] |= PollFlags::POLLOUT;
            }
        }
        // Only sockets something is asked of are polled: a socket that hung up reports it
        // whatever it is asked, and polling it while its data waits would spin.
        let revents = {
            let mut fds: Vec<PollFd<'_>> = Vec::with_capacity(2);
            let mut which = Vec::with_capacity(2);
            for (i, socket) in sockets.iter().enumerate() {
                if !events[i].is_empty() {
                    fds.push(PollFd::new(socket.as_fd(), events[i]));
                    which.push(i);
                }
            }
            match ppoll(&mut fds, timeout.map(TimeSpec::from_duration), None) {
                Ok(0) => {
                    if let Some(asked) = wake_at {
                        cx.wake.observe(asked, Instant::now());
                    }
                }
                Ok(_) => {}
                Err(Errno::EINTR) => continue,
                Err(e) => break End::Failed(io::Error::from(e)),
            }
            let mut revents = [PollFlags::empty(); 2];
            for (fd, i) in fds.iter().zip(which) {
                revents[i] = fd.revents().unwrap_or(PollFlags::empty());
            }
            revents
        };
        let now = Instant::now();
        let mut failed = None;
        for pipe in &mut pipes {
            let seen = revents[pipe.from];
            if pipe.reading()
                && seen.intersects(PollFlags::POLLIN | PollFlags::POLLHUP | PollFlags::POLLERR)
            {
                if let Err(e) = pipe.read(&sockets[pipe.from], &mut buf, now) {
                    failed = Some(e);
                    break;
                }
            }
            if revents[pipe.to]
                .intersects(PollFlags::POLLOUT | PollFlags::POLLHUP | PollFlags::POLLERR)
            {
                pipe.blocked = false;
            }
        }
        if let Some(e) = failed {
            break End::Failed(e);
        }
    };
    (end, sockets)
}
