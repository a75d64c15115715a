//! `--start-at UNIX_TIME`: start the schedule at a wall-clock instant, so shards on several
//! machines start together.
//!
//! The decision is a pure function of the instant and "now", tested without a clock. An
//! instant up to [`PAST_TOLERANCE`] in the past starts at once (a slow container start should
//! not fail a run); further in the past is an error, because the shards would no longer
//! overlap and the merge would describe load that never happened together.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::plan::PlanError;

/// How far in the past `--start-at` may be and still start (at once).
pub const PAST_TOLERANCE: Duration = Duration::from_secs(1);

/// How far ahead `--start-at` may be: further is almost surely a mistake (milliseconds given
/// for seconds), and a run that silently waits for years helps nobody.
pub const FUTURE_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// The shortest lead before the first send, so it is not late while tasks spin up.
pub const MIN_LEAD: Duration = Duration::from_millis(20);

/// Parses `--start-at` (seconds since the Unix epoch, fractions allowed).
pub fn parse(text: &str) -> Result<SystemTime, PlanError> {
    let bad = |m: &str| PlanError::new("--start-at", text, m);
    let secs: f64 = text
        .trim()
        .parse()
        .map_err(|_| bad("is not a Unix time in seconds (e.g. 1780000000.5)"))?;
    let offset = Duration::try_from_secs_f64(secs).map_err(|_| bad("is out of range"))?;
    UNIX_EPOCH
        .checked_add(offset)
        .ok_or_else(|| bad("is out of range"))
}

/// How long to wait from `now` before the first intended send: until `at` (at least
/// [`MIN_LEAD`]), or an error when `at` is more than [`PAST_TOLERANCE`] before `now` or more
/// than [`FUTURE_LIMIT`] after it.
pub fn lead(at: Option<SystemTime>, now: SystemTime) -> Result<Duration, PlanError> {
    let Some(at) = at else {
        return Ok(MIN_LEAD);
    };
    let secs = || {
        at.duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    };
    match at.duration_since(now) {
        Ok(ahead) if ahead > FUTURE_LIMIT => Err(PlanError::new(
            "--start-at",
            secs(),
            format!(
                "is {:.0} s ahead (more than a day); give seconds since the Unix epoch, not milliseconds",
                ahead.as_secs_f64()
            ),
        )),
        Ok(ahead) => Ok(ahead.max(MIN_LEAD)),
        Err(past) if past.duration() <= PAST_TOLERANCE => Ok(MIN_LEAD),
        Err(past) => {
            Err(PlanError::new(
                "--start-at",
                secs(),
                format!(
                    "is {:.3} s in the past (more than {} s); give a time in the future",
                    past.duration().as_secs_f64(),
                    PAST_TOLERANCE.as_secs()
                ),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_until_the_instant_or_refuses_a_stale_one() {
        let now = UNIX_EPOCH + Duration::from_secs(1_000_000);
        assert_eq!(lead(None, now), Ok(MIN_LEAD));
        let at = now + Duration::from_millis(2500);
        assert_eq!(lead(Some(at), now), Ok(Duration::from_millis(2500)));
        assert_eq!(
            lead(Some(now + Duration::from_millis(5)), now),
            Ok(MIN_LEAD)
        );
        assert_eq!(
            lead(Some(now - Duration::from_millis(900)), now),
            Ok(MIN_LEAD)
        );
        let err = lead(Some(now - Duration::from_secs(5)), now).unwrap_err();
        assert_eq!(err.flag, "--start-at");
        assert!(err.message.contains("in the past"), "{err}");
        let millis = now + Duration::from_secs(1_000_000 * 999);
        let err = lead(Some(millis), now).unwrap_err();
        assert!(err.message.contains("not milliseconds"), "{err}");
        let tomorrow = now + FUTURE_LIMIT;
        assert_eq!(lead(Some(tomorrow), now), Ok(FUTURE_LIMIT));
    }

    #[test]
    fn parses_fractional_unix_seconds() {
        assert_eq!(
            parse("1000000.25").unwrap(),
            UNIX_EPOCH + Duration::from_millis(1_000_000_250)
        );
        assert_eq!(parse("soon").unwrap_err().flag, "--start-at");
        assert_eq!(parse("-5").unwrap_err().flag, "--start-at");
    }
}
