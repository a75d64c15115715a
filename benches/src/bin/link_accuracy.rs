//! How faithful is `bench-server link`? Redis `PING` round trips at a constant rate,
//! directly and through a link, in alternating rounds; prints the added round trip at p50
//! and p99 against twice the link's delay, and the link's CPU per forwarded message.
//! `scripts/bench-link` starts Redis and the link and runs this.
//!
//! Open loop: a sender thread writes each `PING` at its intended time (precise sleeps, 1 ns
//! timer slack) round-robin over the connections; a reader thread matches replies in order
//! and records reply time − intended time (so a stall is charged to every request it
//! delayed). Both sides of a round share everything but the link, so their difference is
//! the link.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

const PING: &[u8] = b"*1\r\n$4\r\nPING\r\n";
const PONG: &[u8] = b"+PONG\r\n";

#[derive(Debug)]
struct Args {
    direct: SocketAddr,
    link: SocketAddr,
    link_pid: u32,
    redis_pid: u32,
    delay_us: f64,
    rate: f64,
    connections: usize,
    seconds: f64,
    rounds: usize,
}

fn parse() -> Result<Args, String> {
    let mut args = Args {
        direct: "127.0.0.1:6379".parse().map_err(|_| "address")?,
        link: "127.0.0.1:6380".parse().map_err(|_| "address")?,
        link_pid: 0,
        redis_pid: 0,
        delay_us: 250.0,
        rate: 20_000.0,
        connections: 8,
        seconds: 3.0,
        rounds: 5,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let value = it.next().ok_or(format!("{flag}: needs a value"))?;
        let bad = |what: &str| format!("{flag} {value}: {what}");
        match flag.as_str() {
            "--direct" => args.direct = value.parse().map_err(|_| bad("not HOST:PORT"))?,
            "--link" => args.link = value.parse().map_err(|_| bad("not HOST:PORT"))?,
            "--link-pid" => args.link_pid = value.parse().map_err(|_| bad("not a PID"))?,
            "--redis-pid" => args.redis_pid = value.parse().map_err(|_| bad("not a PID"))?,
            "--delay-us" => args.delay_us = value.parse().map_err(|_| bad("not a number"))?,
            "--rate" => args.rate = value.parse().map_err(|_| bad("not a number"))?,
            "--connections" => {
                args.connections = value.parse().map_err(|_| bad("not a count"))?;
            }
            "--seconds" => args.seconds = value.parse().map_err(|_| bad("not a number"))?,
            "--rounds" => args.rounds = value.parse().map_err(|_| bad("not a count"))?,
            _ => return Err(format!("unknown flag {flag}")),
        }
    }
    if !(args.rate > 0.0 && args.seconds > 0.0 && args.connections > 0 && args.rounds > 0) {
        return Err("--rate, --seconds, --connections and --rounds must be positive".into());
    }
    Ok(args)
}

/// What one side of a round measured.
struct Side {
    latency: Histogram<u64>,
    sent: u64,
    missing: u64,
}

/// Open-loop `PING`s to `target` for `seconds` (after a half-second warm-up).
fn measure(target: SocketAddr, args: &Args) -> std::io::Result<Side> {
    let mut writers = Vec::new();
    let mut readers = Vec::new();
    let queues: Vec<Arc<Mutex<VecDeque<Instant>>>> = (0..args.connections)
        .map(|_| Arc::new(Mutex::new(VecDeque::new())))
        .collect();
    for _ in 0..args.connections {
        let stream = TcpStream::connect(target)?;
        stream.set_nodelay(true)?;
        stream.set_read_timeout(Some(Duration::from_millis(20)))?;
        readers.push(stream.try_clone()?);
        writers.push(stream);
    }
    let warmup = Duration::from_millis(500);
    let length = Duration::from_secs_f64(args.seconds);
    let start = Instant::now() + Duration::from_millis(20);
    let measure_from = start + warmup;
    let end = measure_from + length;
    let done = Arc::new(AtomicBool::new(false));
    let mut reader_threads = Vec::new();
    for (mut stream, queue) in readers.into_iter().zip(queues.iter().cloned()) {
        let done = Arc::clone(&done);
        reader_threads.push(std::thread::spawn(move || {
            let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                .unwrap_or_else(|_| unreachable!("constant bounds"));
            let mut buf = [0u8; 4096];
            let mut pending = 0usize;
            loop {
                match stream.read(&mut buf) {
                    Ok(0) => break,
                    Ok(n) => {
                        let now = Instant::now();
                        pending += n;
                        while pending >= PONG.len() {
                            pending -= PONG.len();
                            let sent = queue.lock().unwrap_or_else(|e| e.into_inner()).pop_front();
                            if let Some(intended) = sent.filter(|t| *t >= measure_from) {
                                let us = now.duration_since(intended).as_micros();
                                h.saturating_record(u64::try_from(us).unwrap_or(u64::MAX).max(1));
                            }
                        }
                    }
                    Err(_) if done.load(Ordering::Acquire) => break,
                    Err(_) => {}
                }
            }
            h
        }));
    }
    bench_server::link::precise_timers();
    let interval = Duration::from_secs_f64(1.0 / args.rate);
    let mut sent = 0u64;
    let mut k: u32 = 0;
    loop {
        let intended = start + interval * k;
        if intended >= end {
            break;
        }
        let now = Instant::now();
        if intended > now {
            std::thread::sleep(intended - now);
        }
        let c = k as usize % args.connections;
        queues[c]
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push_back(intended);
        writers[c].write_all(PING)?;
        if intended >= measure_from {
            sent += 1;
        }
        k += 1;
    }
    // Replies still in flight get a second.
    std::thread::sleep(Duration::from_secs(1));
    done.store(true, Ordering::Release);
    let mut latency = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
        .unwrap_or_else(|_| unreachable!("constant bounds"));
    for t in reader_threads {
        let h = t
            .join()
            .map_err(|_| std::io::Error::other("a reader panicked"))?;
        latency
            .add(&h)
            .map_err(|e| std::io::Error::other(e.to_string()))?;
    }
    let missing = sent.saturating_sub(latency.len());
    Ok(Side {
        latency,
        sent,
        missing,
    })
}

/// A process's user + system CPU seconds, from `/proc/PID/stat`.
fn cpu_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let after = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields.get(11)?.parse::<f64>().ok()? + fields.get(12)?.parse::<f64>().ok()?;
    Some(ticks / 100.0)
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

fn main() -> std::process::ExitCode {
    let args = match parse() {
        Ok(a) => a,
        Err(e) => {
            eprintln!("link_accuracy: {e}");
            return std::process::ExitCode::from(2);
        }
    };
    let mut added_p50 = Vec::new();
    let mut added_p99 = Vec::new();
    let mut cpu_per_chunk = Vec::new();
    let mut redis_per_ping = Vec::new();
    println!(
        "round  side    sent     p50_us   p99_us   p99.9_us  missing   (rate {}/s over {} connections, link delay {} us each way)",
        args.rate, args.connections, args.delay_us
    );
    for round in 0..args.rounds {
        // Alternate which side goes first, so drift touches both alike.
        let order = if round % 2 == 0 {
            [("direct", args.direct), ("link", args.link)]
        } else {
            [("link", args.link), ("direct", args.direct)]
        };
        let mut p = [(0.0, 0.0); 2];
        for (name, target) in order {
            let cpu0 = cpu_seconds(args.link_pid);
            let redis0 = cpu_seconds(args.redis_pid);
            let side = match measure(target, &args) {
                Ok(side) => side,
                Err(e) => {
                    eprintln!("link_accuracy: {name} {target}: {e}");
                    return std::process::ExitCode::from(2);
                }
            };
            let h = &side.latency;
            println!(
                "{:>5}  {name:<6} {:>7}  {:>8}  {:>8}  {:>8}  {:>7}",
                round + 1,
                side.sent,
                h.value_at_quantile(0.5),
                h.value_at_quantile(0.99),
                h.value_at_quantile(0.999),
                side.missing
            );
            let slot = usize::from(name == "link");
            p[slot] = (
                h.value_at_quantile(0.5) as f64,
                h.value_at_quantile(0.99) as f64,
            );
            if name == "direct" {
                if let (Some(a), Some(b)) = (redis0, cpu_seconds(args.redis_pid)) {
                    redis_per_ping.push((b - a) * 1e6 / (args.rate * (args.seconds + 0.5)));
                }
            }
            if name == "link" {
                if let (Some(a), Some(b)) = (cpu0, cpu_seconds(args.link_pid)) {
                    // Two messages per round trip (PING up, PONG down), warm-up included.
                    let chunks = 2.0 * args.rate * (args.seconds + 0.5);
                    cpu_per_chunk.push((b - a) * 1e6 / chunks);
                }
            }
        }
        added_p50.push(p[1].0 - p[0].0);
        added_p99.push(p[1].1 - p[0].1);
    }
    let want = 2.0 * args.delay_us;
    let p50 = median(added_p50);
    let p99 = median(added_p99);
    let p50_ok = (p50 - want).abs() <= 50.0;
    let p99_ok = (p99 - want).abs() <= 150.0;
    println!();
    println!(
        "added round trip p50: {p50:.0} us (target {want:.0} ± 50) {}",
        if p50_ok { "ok" } else { "MISSED" }
    );
    println!(
        "added round trip p99: {p99:.0} us (target {want:.0} ± 150) {}",
        if p99_ok { "ok" } else { "MISSED" }
    );
    let cpu_ok = if cpu_per_chunk.is_empty() {
        println!("link CPU per forwarded message: not measured (no --link-pid)");
        true
    } else {
        let cpu = median(cpu_per_chunk);
        let ok = cpu <= 5.0;
        println!(
            "link CPU per forwarded message: {cpu:.1} us (target ≤ 5) {}",
            if ok { "ok" } else { "MISSED" }
        );
        if !redis_per_ping.is_empty() {
            println!(
                "for scale, Redis CPU per PING (read + reply) on this machine: {:.1} us",
                median(redis_per_ping)
            );
        }
        ok
    };
    if p50_ok && p99_ok && cpu_ok {
        std::process::ExitCode::SUCCESS
    } else {
        std::process::ExitCode::FAILURE
    }
}
