//! Number and text formatting shared by the Markdown and HTML renderers, so both show the
//! same figures with the same units.

/// A latency or CPU time given in µs: `84 µs`, `1.24 ms`, `2.50 s`.
pub fn us(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let a = v.abs();
    if a < 100.0 {
        format!("{v:.1} µs")
    } else if a < 1_000.0 {
        format!("{v:.0} µs")
    } else if a < 10_000.0 {
        format!("{:.2} ms", v / 1e3)
    } else if a < 1_000_000.0 {
        format!("{:.1} ms", v / 1e3)
    } else {
        format!("{:.2} s", v / 1e6)
    }
}

/// A latency in µs: whole µs below 1 ms (latencies are recorded in whole µs), else as [`us`].
pub fn lat(v: f64) -> String {
    if v.is_finite() && v.abs() < 1_000.0 {
        format!("{v:.0} µs")
    } else {
        us(v)
    }
}

/// A latency difference with its sign: `+118 µs`, `−3 µs`.
pub fn lat_signed(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 0.0 {
        format!("−{}", lat(-v))
    } else {
        format!("+{}", lat(v))
    }
}

/// A round axis value in µs, shortest form: `500 µs`, `5 ms`, `2.5 s`.
pub fn tick_us(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if v.abs() < 1_000.0 {
        format!("{} µs", round_sig(v))
    } else if v.abs() < 1_000_000.0 {
        format!("{} ms", round_sig(v / 1e3))
    } else {
        format!("{} s", round_sig(v / 1e6))
    }
}

/// A round axis value in ms, shortest form: `10 ms`, `1 s`, `1 min`, `15 min`.
pub fn tick_ms(v: f64) -> String {
    if v < 1_000.0 {
        format!("{} ms", round_sig(v))
    } else if v < 60_000.0 || (v < 120_000.0 && v % 60_000.0 != 0.0) {
        format!("{} s", round_sig(v / 1e3))
    } else if v < 3_600_000.0 {
        format!("{} min", round_sig(v / 60_000.0))
    } else {
        format!("{} h", round_sig(v / 3_600_000.0))
    }
}

/// A round axis count: `0`, `1,500`, `10,000`.
pub fn tick_int(v: f64) -> String {
    int(v.max(0.0).round() as u64)
}

/// A round axis byte count: `0`, `512 B`, `2 kB`.
pub fn tick_bytes(v: f64) -> String {
    if v == 0.0 {
        "0".to_owned()
    } else if v.abs() < 1_000.0 {
        format!("{} B", round_sig(v))
    } else {
        format!("{} kB", round_sig(v / 1e3))
    }
}

/// `v` to 3 significant digits without trailing zeros (`5`, `2.5`, `0.01`).
fn round_sig(v: f64) -> String {
    if v == 0.0 || !v.is_finite() {
        return "0".to_owned();
    }
    let mag = 10f64.powi(2 - v.abs().log10().floor() as i32);
    let r = (v * mag).round() / mag;
    format!("{r}")
}

/// A difference in µs with its sign: `+120 µs`, `−3.5 µs`.
pub fn us_signed(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 0.0 {
        format!("−{}", us(-v))
    } else {
        format!("+{}", us(v))
    }
}

/// A duration in ms: `3.2 ms`, `140 ms`, `2.5 s`, `15 min`.
pub fn ms(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 10.0 {
        format!("{v:.1} ms")
    } else if v < 1_000.0 {
        format!("{v:.0} ms")
    } else {
        seconds(v / 1e3)
    }
}

/// A duration in seconds: `2.5 s`, `15 min`, `1 h 30 min`.
pub fn seconds(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    if v < 60.0 {
        if v < 10.0 {
            format!("{v:.1} s")
        } else {
            format!("{v:.0} s")
        }
    } else if v < 3_600.0 {
        let m = (v / 60.0).floor();
        let s = (v - m * 60.0).round();
        if s == 0.0 {
            format!("{m:.0} min")
        } else {
            format!("{m:.0} min {s:.0} s")
        }
    } else {
        let h = (v / 3_600.0).floor();
        let m = ((v - h * 3_600.0) / 60.0).round();
        format!("{h:.0} h {m:.0} min")
    }
}

/// An integer with thousands separators: `12,345`.
pub fn int(v: u64) -> String {
    let digits = v.to_string();
    let mut out = String::with_capacity(digits.len() + digits.len() / 3);
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// A rate: `12,345/s` (`–` when not finite).
pub fn rps(v: f64) -> String {
    if !v.is_finite() || v < 0.0 {
        return "–".to_owned();
    }
    format!("{}/s", int(v.round() as u64))
}

/// A share 0–1 as a percentage: `0.12 %`, `33 %`.
pub fn pct(share: f64) -> String {
    if !share.is_finite() {
        return "–".to_owned();
    }
    let p = share * 100.0;
    if p == 0.0 {
        "0 %".to_owned()
    } else if p.abs() < 0.01 {
        "<0.01 %".to_owned()
    } else if p.abs() < 10.0 {
        format!("{p:.2} %")
    } else {
        format!("{p:.0} %")
    }
}

/// A relative difference (0.25 → `+25 %`).
pub fn rel(share: f64) -> String {
    if !share.is_finite() {
        return "–".to_owned();
    }
    let p = share * 100.0;
    if p < 0.0 {
        format!("−{:.0} %", -p)
    } else {
        format!("+{p:.0} %")
    }
}

/// A byte count: `43 B`, `1.2 KiB`, `3.4 MiB`.
pub fn bytes(v: f64) -> String {
    if !v.is_finite() {
        return "–".to_owned();
    }
    let a = v.abs();
    if a < 1024.0 {
        format!("{v:.0} B")
    } else if a < 1024.0 * 1024.0 {
        format!("{:.1} KiB", v / 1024.0)
    } else if a < 1024.0 * 1024.0 * 1024.0 {
        format!("{:.1} MiB", v / (1024.0 * 1024.0))
    } else {
        format!("{:.1} GiB", v / (1024.0 * 1024.0 * 1024.0))
    }
}

/// A plain ratio with two decimals: `0.87`.
pub fn ratio(v: f64) -> String {
    if v.is_finite() {
        format!("{v:.2}")
    } else {
        "–".to_owned()
    }
}

/// Seconds since the Unix epoch as `YYYY-MM-DD HH:MM UTC`.
pub fn utc(unix: f64) -> String {
    if !unix.is_finite() || unix < 0.0 {
        return "unknown".to_owned();
    }
    let secs = unix.floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let (y, m, d) = civil_from_days(days);
    format!(
        "{y:04}-{m:02}-{d:02} {:02}:{:02} UTC",
        rem / 3_600,
        (rem % 3_600) / 60
    )
}

/// Days since 1970-01-01 to a proleptic Gregorian date (Howard Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1_460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// Joins command-line words, quoting those with spaces or shell characters.
pub fn command_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| {
            if !w.is_empty()
                && w.chars()
                    .all(|c| c.is_ascii_alphanumeric() || "-_./=:,@+%".contains(c))
            {
                w.clone()
            } else {
                format!("'{}'", w.replace('\'', r"'\''"))
            }
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// A latency difference with its interval: `+31 µs [25, 40]`, `+12.30 ms [10.10, 14.20]`
/// (whole µs below 1 ms, as latencies are recorded).
pub fn interval_lat(i: &crate::render::interval::Interval) -> String {
    let ms = [i.estimate, i.low, i.high]
        .iter()
        .any(|v| v.is_finite() && v.abs() >= 1_000.0);
    let bound = |v: f64| {
        if !v.is_finite() {
            "–".to_owned()
        } else if ms {
            format!("{:.2}", v / 1e3).replace('-', "−")
        } else {
            format!("{v:.0}").replace('-', "−")
        }
    };
    let estimate = if !i.estimate.is_finite() {
        "–".to_owned()
    } else if ms {
        let sign = if i.estimate < 0.0 { "−" } else { "+" };
        format!("{sign}{:.2} ms", i.estimate.abs() / 1e3)
    } else {
        lat_signed(i.estimate)
    };
    format!("{estimate} [{}, {}]", bound(i.low), bound(i.high))
}

/// An added cost with its interval: `+13.7 µs [9.9, 16.9]`.
pub fn interval_us(i: &crate::render::interval::Interval) -> String {
    let bound = |v: f64| {
        if !v.is_finite() {
            "–".to_owned()
        } else if v.abs() < 0.05 {
            "0.0".to_owned()
        } else if v.abs() < 100.0 {
            format!("{v:.1}").replace('-', "−")
        } else {
            format!("{v:.0}").replace('-', "−")
        }
    };
    format!(
        "{} [{}, {}]",
        us_signed(i.estimate),
        bound(i.low),
        bound(i.high)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(us(3.21), "3.2 µs");
        assert_eq!(us(26.0), "26.0 µs");
        assert_eq!(lat(26.0), "26 µs");
        assert_eq!(lat_signed(-3.0), "−3 µs");
        let i = |estimate, low, high| crate::render::interval::Interval {
            estimate,
            low,
            high,
        };
        assert_eq!(interval_lat(&i(31.2, 25.0, 40.4)), "+31 µs [25, 40]");
        assert_eq!(interval_lat(&i(-3.0, -7.0, 2.0)), "−3 µs [−7, 2]");
        assert_eq!(
            interval_lat(&i(12_300.0, 10_100.0, 14_200.0)),
            "+12.30 ms [10.10, 14.20]"
        );
        assert_eq!(lat(1_240.0), "1.24 ms");
        assert_eq!(tick_us(5_000.0), "5 ms");
        assert_eq!(tick_us(500.0), "500 µs");
        assert_eq!(tick_us(2_500_000.0), "2.5 s");
        assert_eq!(tick_ms(100_000.0), "100 s");
        assert_eq!(tick_ms(60_000.0), "1 min");
        assert_eq!(us(312.4), "312 µs");
        assert_eq!(us(13.84), "13.8 µs");
        assert_eq!(us(1_240.0), "1.24 ms");
        assert_eq!(us(25_000.0), "25.0 ms");
        assert_eq!(us(2_500_000.0), "2.50 s");
        assert_eq!(us_signed(-3.5), "−3.5 µs");
        assert_eq!(us_signed(120.0), "+120 µs");
        assert_eq!(ms(3.21), "3.2 ms");
        assert_eq!(ms(900_000.0), "15 min");
        assert_eq!(seconds(5_400.0), "1 h 30 min");
        assert_eq!(int(1_234_567), "1,234,567");
        assert_eq!(int(12), "12");
        assert_eq!(rps(12_345.4), "12,345/s");
        assert_eq!(pct(0.3333), "33 %");
        assert_eq!(pct(0.0012), "0.12 %");
        assert_eq!(rel(-0.25), "−25 %");
        assert_eq!(bytes(43.0), "43 B");
        assert_eq!(bytes(2_560.0), "2.5 KiB");
        assert_eq!(us(f64::NAN), "–");
    }

    #[test]
    fn dates() {
        assert_eq!(utc(0.0), "1970-01-01 00:00 UTC");
        assert_eq!(utc(1_795_000_000.0), "2026-11-18 11:06 UTC");
        assert_eq!(utc(951_782_400.0), "2000-02-29 00:00 UTC");
    }

    #[test]
    fn commands_are_quoted() {
        let words = ["loadgen", "suite", "--label", "a b", "it's"].map(String::from);
        assert_eq!(
            command_line(&words),
            r"loadgen suite --label 'a b' 'it'\''s'"
        );
    }
}
