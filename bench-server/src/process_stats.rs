//! CPU time and resident memory of this process, read when `/metrics` is scraped, and the
//! CPU time of a child process (`bench-server functions` sums its instances').
//!
//! The load generator divides the CPU delta over a measured window by the requests served in
//! it to get CPU-µs per request, and takes RSS deltas as the in-process cost of sessions.

use std::fmt::Write as _;
use std::time::Duration;

/// CPU time this process has used so far, split by mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CpuTimes {
    /// Time in user space (the server's own code and libraries).
    pub user: Duration,
    /// Time in the kernel on the process's behalf (sockets, wake-ups, memory).
    pub system: Duration,
}

impl CpuTimes {
    /// User + system.
    pub fn total(self) -> Duration {
        self.user + self.system
    }
}

/// CPU time used so far (`getrusage(RUSAGE_SELF)`, µs resolution); zero if unavailable.
pub fn cpu_times() -> CpuTimes {
    let Ok(usage) = nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) else {
        return CpuTimes::default();
    };
    let micros = |t: nix::sys::time::TimeVal| {
        Duration::from_micros(u64::try_from(t.tv_sec() * 1_000_000 + t.tv_usec()).unwrap_or(0))
    };
    CpuTimes {
        user: micros(usage.user_time()),
        system: micros(usage.system_time()),
    }
}

/// The state and CPU time of another process, from `/proc/PID/stat`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PidStat {
    /// The state letter (`R`, `S`, `D`, `Z` for an exited process not yet reaped, …).
    pub state: char,
    /// CPU time it has used (clock-tick resolution, usually 10 ms).
    pub cpu: CpuTimes,
}

impl PidStat {
    /// Whether it still runs: present and not a zombie.
    pub fn is_running(self) -> bool {
        self.state != 'Z' && self.state != 'X'
    }
}

/// `/proc/PID/stat` of `pid`, or `None` when it is gone (reaped) or unreadable. A zombie's
/// CPU time is final: read it between the exit and the reaping.
pub fn pid_stat(pid: u32) -> Option<PidStat> {
    let text = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    parse_pid_stat(&text, clock_ticks_per_second())
}

/// Parses a `/proc/PID/stat` line: the fields after the parenthesised command name are
/// state (3), …, utime (14) and stime (15), in clock ticks.
fn parse_pid_stat(text: &str, ticks_per_second: u64) -> Option<PidStat> {
    let (_, rest) = text.rsplit_once(") ")?;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let state = fields.first()?.chars().next()?;
    let ticks = |field: usize| -> Option<Duration> {
        let ticks: u64 = fields.get(field - 3)?.parse().ok()?;
        Some(Duration::from_micros(
            ticks.saturating_mul(1_000_000) / ticks_per_second.max(1),
        ))
    };
    Some(PidStat {
        state,
        cpu: CpuTimes {
            user: ticks(14)?,
            system: ticks(15)?,
        },
    })
}

fn clock_ticks_per_second() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::CLK_TCK)
        .ok()
        .flatten()
        .and_then(|ticks| u64::try_from(ticks).ok())
        .unwrap_or(100)
}

/// Resident set size in bytes (`/proc/self/statm`), or 0 where that file does not exist.
pub fn resident_memory_bytes() -> u64 {
    let Ok(statm) = std::fs::read_to_string("/proc/self/statm") else {
        return 0;
    };
    let pages: u64 = statm
        .split_whitespace()
        .nth(1)
        .and_then(|field| field.parse().ok())
        .unwrap_or(0);
    pages * page_size()
}

fn page_size() -> u64 {
    nix::unistd::sysconf(nix::unistd::SysconfVar::PAGE_SIZE)
        .ok()
        .flatten()
        .and_then(|size| u64::try_from(size).ok())
        .unwrap_or(4096)
}

/// Appends this process's CPU and memory in the Prometheus text format: the standard
/// `process_cpu_seconds_total` and `process_resident_memory_bytes`, plus
/// `authbench_process_cpu_seconds_total{<labels>,mode="user"|"system"}`. `labels` is a
/// comma-separated label list without braces (may be empty).
pub fn render_prometheus(out: &mut String, labels: &str) {
    let cpu = cpu_times();
    let sep = if labels.is_empty() { "" } else { "," };
    out.push_str(
        "# HELP process_cpu_seconds_total Total user and system CPU time spent in seconds.\n",
    );
    out.push_str("# TYPE process_cpu_seconds_total counter\n");
    let _ = writeln!(
        out,
        "process_cpu_seconds_total {}",
        cpu.total().as_secs_f64()
    );
    out.push_str(
        "# HELP authbench_process_cpu_seconds_total CPU time spent in seconds, by mode.\n",
    );
    out.push_str("# TYPE authbench_process_cpu_seconds_total counter\n");
    for (mode, time) in [("user", cpu.user), ("system", cpu.system)] {
        let _ = writeln!(
            out,
            "authbench_process_cpu_seconds_total{{{labels}{sep}mode=\"{mode}\"}} {}",
            time.as_secs_f64()
        );
    }
    out.push_str("# HELP process_resident_memory_bytes Resident memory size in bytes.\n");
    out.push_str("# TYPE process_resident_memory_bytes gauge\n");
    let _ = writeln!(
        out,
        "process_resident_memory_bytes {}",
        resident_memory_bytes()
    );
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn cpu_time_moves_forward() {
        let before = cpu_times().total();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        assert!(cpu_times().total() >= before);
    }

    #[test]
    fn pid_stat_reads_state_and_cpu_ticks() {
        let line = "4242 (bench server) S 1 2 3 4 5 6 7 8 9 10 250 75 0 0 20 0 8 0 100 0 0";
        let stat = parse_pid_stat(line, 100).unwrap();
        assert_eq!(stat.state, 'S');
        assert_eq!(stat.cpu.user, Duration::from_millis(2500));
        assert_eq!(stat.cpu.system, Duration::from_millis(750));
        assert!(stat.is_running());
        let zombie = parse_pid_stat("7 (x) Z 1 2 3 4 5 6 7 8 9 10 1 2", 100).unwrap();
        assert!(!zombie.is_running());
        assert_eq!(parse_pid_stat("garbage", 100), None);
        if cfg!(target_os = "linux") {
            assert!(pid_stat(std::process::id()).unwrap().is_running());
        }
    }

    #[test]
    fn rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_memory_bytes() > 0);
        }
    }
}
