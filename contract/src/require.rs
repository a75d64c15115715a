//! The rule by which test harnesses and scripts turn a missing program into a failure:
//! `AUTHBENCH_REQUIRE_REDIS` and `AUTHBENCH_REQUIRE_BALANCERS` (set to `1` by
//! `scripts/test`) make tests that need `redis-server`, `haproxy` or `nginx` fail when it is
//! missing instead of skipping.

use std::ffi::OsStr;

/// Whether the environment variable `var` requires its programs: iff its value is `1` or
/// `true` (ASCII case-insensitive). Unset, empty, `0`, `false` or any other value means not
/// required.
pub fn required_by_env(var: &str) -> bool {
    is_required(std::env::var_os(var).as_deref())
}

/// The rule of [`required_by_env`] on a value (`None` when unset).
pub fn is_required(value: Option<&OsStr>) -> bool {
    value
        .and_then(OsStr::to_str)
        .is_some_and(|v| v.eq_ignore_ascii_case("1") || v.eq_ignore_ascii_case("true"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn required_only_for_1_or_true() {
        for value in ["1", "true", "TRUE", "True"] {
            assert!(is_required(Some(OsStr::new(value))), "{value:?}");
        }
        assert!(!is_required(None), "unset");
        for value in ["", "0", "false", "no", "yes", "2", " 1", "1 "] {
            assert!(!is_required(Some(OsStr::new(value))), "{value:?}");
        }
    }
}
