//! `bench-server link`'s flags: a TCP hop that delays what it forwards, and the value types
//! the cluster launcher and matrices share with it (one-way delay, bandwidth).
//!
//! The link follows toxiproxy's model: a latency per direction (each byte is released
//! `delay ± jitter` after it arrived, in order), an optional bandwidth, and fault toxics on
//! its admin port (stall, reset, refuse new connections).

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use clap::Args;

/// The longest delay a link accepts: beyond it, a hop is a fault, not a distance.
pub const MAX_DELAY: Duration = Duration::from_secs(10);

/// Flags of `bench-server link`.
#[derive(Debug, Clone, Args)]
pub struct LinkArgs {
    /// Address to listen on; port 0 picks a free one.
    #[arg(long)]
    pub listen: SocketAddr,
    /// Where every accepted connection is forwarded.
    #[arg(long)]
    pub upstream: SocketAddr,
    /// One-way delay, applied in each direction: `250us`, `0.25ms`, `15ms`, `1s` (0 to 10 s).
    #[arg(long, default_value = "0us")]
    pub delay: DelayArg,
    /// Up to this much more or less delay, uniformly drawn per chunk (never reorders bytes).
    #[arg(long, default_value = "0us")]
    pub jitter: DelayArg,
    /// Bandwidth per direction and connection: `100mbit`, `1gbit`, `512kbit` (default:
    /// unlimited).
    #[arg(long)]
    pub bandwidth: Option<Bandwidth>,
    /// Address of the admin port (`/metrics`, `/healthz`, `/toxics/…`); off by default.
    #[arg(long)]
    pub admin_listen: Option<SocketAddr>,
    /// Connections forwarded at once; beyond it new ones are closed and counted.
    #[arg(long, default_value_t = 4096)]
    pub max_connections: usize,
    /// How long to wait for the upstream's TCP connect before closing the client's.
    #[arg(long, default_value = "2s")]
    pub connect_timeout: DelayArg,
}

/// A delay of 0 to [`MAX_DELAY`] with a unit: `us` (or `µs`), `ms`, `s`; decimals allowed
/// (`0.25ms`). Kept to the microsecond.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default)]
pub struct DelayArg(pub Duration);

impl DelayArg {
    /// Whole microseconds.
    pub fn as_micros(self) -> u64 {
        u64::try_from(self.0.as_micros()).unwrap_or(u64::MAX)
    }
}

impl fmt::Display for DelayArg {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}us", self.as_micros())
    }
}

impl FromStr for DelayArg {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let split = text
            .find(|c: char| !(c.is_ascii_digit() || c == '.' || c == '-' || c == '+'))
            .unwrap_or(text.len());
        let (number, unit) = text.split_at(split);
        let value: f64 = number
            .parse()
            .map_err(|_| format!("'{text}' is not a delay (e.g. 250us, 0.25ms, 15ms, 1s)"))?;
        let scale = match unit.trim() {
            "us" | "µs" => 1e-6,
            "ms" => 1e-3,
            "s" => 1.0,
            "" => return Err(format!("'{text}' needs a unit: us, ms or s (e.g. 250us)")),
            other => {
                return Err(format!(
                    "'{text}' has unknown unit '{other}' (use us, ms or s)"
                ))
            }
        };
        if !value.is_finite() || value < 0.0 {
            return Err(format!("'{text}' is negative: a delay is 0 or more"));
        }
        let seconds = value * scale;
        if seconds > MAX_DELAY.as_secs_f64() {
            return Err(format!(
                "'{text}' is above the {} s a link delays at most",
                MAX_DELAY.as_secs()
            ));
        }
        Ok(DelayArg(Duration::from_micros(
            (seconds * 1e6).round() as u64
        )))
    }
}

/// A bandwidth in bits per second, written as `tc` writes it: `bit`, `kbit`, `mbit`,
/// `gbit` (decimal multiples).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bandwidth {
    /// Bits per second.
    pub bits_per_second: u64,
}

impl Bandwidth {
    /// How long `bytes` take to go out at this rate.
    pub fn transmit_time(self, bytes: usize) -> Duration {
        let nanos = (bytes as u128 * 8 * 1_000_000_000).div_ceil(u128::from(self.bits_per_second));
        Duration::from_nanos(u64::try_from(nanos).unwrap_or(u64::MAX))
    }
}

impl fmt::Display for Bandwidth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}bit", self.bits_per_second)
    }
}

impl FromStr for Bandwidth {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, String> {
        let lower = text.trim().to_ascii_lowercase();
        let split = lower
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(lower.len());
        let (number, unit) = lower.split_at(split);
        let bad = || format!("'{text}' is not a bandwidth (e.g. 512kbit, 100mbit, 1gbit)");
        let value: f64 = number.parse().map_err(|_| bad())?;
        let scale = match unit {
            "bit" => 1.0,
            "kbit" => 1e3,
            "mbit" => 1e6,
            "gbit" => 1e9,
            _ => return Err(bad()),
        };
        let bits = value * scale;
        if !(bits.is_finite() && (1.0..=1e12).contains(&bits)) {
            return Err(format!("'{text}' must be between 1bit and 1000gbit"));
        }
        Ok(Bandwidth {
            bits_per_second: bits as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn delays_parse_with_units_and_refuse_what_is_not_one() {
        let us = |s: &str| s.parse::<DelayArg>().map(DelayArg::as_micros);
        assert_eq!(us("250us"), Ok(250));
        assert_eq!(us("250µs"), Ok(250));
        assert_eq!(us("0.25ms"), Ok(250));
        assert_eq!(us("15ms"), Ok(15_000));
        assert_eq!(us("1s"), Ok(1_000_000));
        assert_eq!(us("0us"), Ok(0));
        assert!(us("-1ms").unwrap_err().contains("negative"));
        assert!(us("11s").unwrap_err().contains("above the 10 s"));
        assert!(us("250").unwrap_err().contains("needs a unit"));
        assert!(us("5m").unwrap_err().contains("unknown unit 'm'"));
        assert!(us("fast").unwrap_err().contains("not a delay"));
    }

    #[test]
    fn bandwidths_parse_like_tc() {
        let bits = |s: &str| s.parse::<Bandwidth>().map(|b| b.bits_per_second);
        assert_eq!(bits("1gbit"), Ok(1_000_000_000));
        assert_eq!(bits("100mbit"), Ok(100_000_000));
        assert_eq!(bits("1.5Mbit"), Ok(1_500_000));
        assert_eq!(bits("512kbit"), Ok(512_000));
        assert!(bits("1gbps").unwrap_err().contains("not a bandwidth"));
        assert!(bits("fast").unwrap_err().contains("not a bandwidth"));
        assert!(bits("0bit").is_err());
        let b: Bandwidth = "8mbit".parse().unwrap();
        assert_eq!(b.transmit_time(1_000_000), Duration::from_secs(1));
    }
}
