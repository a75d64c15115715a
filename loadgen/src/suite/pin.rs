//! CPU affinity for the cost part: the replica alone on one core, loadgen (and Redis) on the
//! others, so the replica's per-request CPU is not mixed with the load generator's.
//!
//! Linux sets affinity per thread, so a process is pinned by setting every thread listed in
//! `/proc/PID/task` (threads created later inherit their creator's mask).

use nix::sched::{sched_getaffinity, sched_setaffinity, CpuSet};
use nix::unistd::Pid;

/// The cores this process may run on, in ascending order.
pub fn allowed_cores() -> Vec<usize> {
    let Ok(set) = sched_getaffinity(Pid::from_raw(0)) else {
        return Vec::new();
    };
    (0..CpuSet::count())
        .filter(|&c| set.is_set(c).unwrap_or(false))
        .collect()
}

/// Where the cost part's processes run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The replica's core.
    pub server: usize,
    /// Everything else: loadgen, Redis.
    pub clients: Vec<usize>,
}

impl Layout {
    /// The first allowed core for the server, the rest for clients; `None` with fewer than
    /// two cores (nothing to separate).
    pub fn split(cores: &[usize]) -> Option<Layout> {
        match cores {
            [server, clients @ ..] if !clients.is_empty() => Some(Layout {
                server: *server,
                clients: clients.to_vec(),
            }),
            _ => None,
        }
    }
}

/// Why a process could not be pinned.
#[derive(Debug, thiserror::Error)]
#[error("pinning process {pid}: {reason}")]
pub struct PinError {
    /// The process.
    pub pid: u32,
    /// What failed.
    pub reason: String,
    /// The system's error, when there is one.
    #[source]
    pub cause: Option<std::io::Error>,
}

fn cpu_set(cores: &[usize]) -> Result<CpuSet, (usize, nix::Error)> {
    let mut set = CpuSet::new();
    for &c in cores {
        set.set(c).map_err(|e| (c, e))?;
    }
    Ok(set)
}

/// Pins every thread of process `pid` to `cores`.
pub fn pin_process(pid: u32, cores: &[usize]) -> Result<(), PinError> {
    let err = |reason: String, cause: Option<std::io::Error>| PinError { pid, reason, cause };
    let set = cpu_set(cores).map_err(|(c, e)| err(format!("core {c}"), Some(e.into())))?;
    let tasks = std::fs::read_dir(format!("/proc/{pid}/task"))
        .map_err(|e| err("listing its threads".into(), Some(e)))?;
    let mut pinned = 0;
    for task in tasks.flatten() {
        let Some(tid) = task
            .file_name()
            .to_str()
            .and_then(|t| t.parse::<i32>().ok())
        else {
            continue;
        };
        // A thread that ended since the listing is no longer there to pin.
        if sched_setaffinity(Pid::from_raw(tid), &set).is_ok() {
            pinned += 1;
        }
    }
    if pinned == 0 {
        return Err(err("no thread could be pinned".into(), None));
    }
    Ok(())
}

/// Pins this process to some cores until dropped, then restores the mask it had.
#[derive(Debug)]
pub struct SelfPin {
    before: Vec<usize>,
}

impl SelfPin {
    /// Pins every thread of this process to `cores`.
    pub fn to(cores: &[usize]) -> Result<SelfPin, PinError> {
        let before = allowed_cores();
        pin_process(std::process::id(), cores)?;
        Ok(SelfPin { before })
    }
}

impl Drop for SelfPin {
    fn drop(&mut self) {
        if !self.before.is_empty() {
            let _ = pin_process(std::process::id(), &self.before);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn layout_needs_two_cores() {
        assert_eq!(Layout::split(&[]), None);
        assert_eq!(Layout::split(&[3]), None);
        assert_eq!(
            Layout::split(&[0, 1, 2]),
            Some(Layout {
                server: 0,
                clients: vec![1, 2]
            })
        );
    }

    #[test]
    fn pins_and_restores_this_process() {
        let cores = allowed_cores();
        assert!(!cores.is_empty());
        {
            let _pin = SelfPin::to(&cores[..1]).unwrap();
            assert_eq!(allowed_cores(), cores[..1].to_vec());
        }
        assert_eq!(allowed_cores(), cores);
    }

    #[test]
    fn a_missing_process_is_an_error() {
        let e = pin_process(u32::MAX, &[0]).unwrap_err();
        assert!(e.to_string().contains("listing its threads"), "{e}");
        assert!(e.cause.is_some(), "the I/O error is kept as the cause");
    }
}
