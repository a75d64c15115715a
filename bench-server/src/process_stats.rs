//! CPU time and resident memory of this process, read when `/metrics` is scraped.
//!
//! The load generator divides the CPU delta over a measured window by the requests served in
//! it to get CPU-µs per request, and takes RSS deltas as the in-process cost of sessions.

use std::time::Duration;

/// User + system CPU time this process has used so far (`getrusage(RUSAGE_SELF)`, µs resolution).
pub fn cpu_time() -> Duration {
    match nix::sys::resource::getrusage(nix::sys::resource::UsageWho::RUSAGE_SELF) {
        Ok(usage) => {
            let user = usage.user_time();
            let system = usage.system_time();
            let micros =
                (user.tv_sec() + system.tv_sec()) * 1_000_000 + (user.tv_usec() + system.tv_usec());
            Duration::from_micros(u64::try_from(micros).unwrap_or(0))
        }
        Err(_) => Duration::ZERO,
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpu_time_moves_forward() {
        let before = cpu_time();
        let mut x = 0u64;
        for i in 0..2_000_000u64 {
            x = std::hint::black_box(x.wrapping_mul(31).wrapping_add(i));
        }
        std::hint::black_box(x);
        assert!(cpu_time() >= before);
    }

    #[test]
    fn rss_is_reported_on_linux() {
        if cfg!(target_os = "linux") {
            assert!(resident_memory_bytes() > 0);
        }
    }
}
