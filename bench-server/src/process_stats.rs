//! CPU time and resident memory of this process, read when `/metrics` is scraped.
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
    fn rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_memory_bytes() > 0);
        }
    }
}
