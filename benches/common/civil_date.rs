//! Calendar dates from the system clock, without a date crate: shared by the report generator
//! (`examples/bench_report.rs`) and the latency page (`examples/latency.rs`).

use std::time::{SystemTime, UNIX_EPOCH};

/// `(year, month, day, seconds into the day)` of `t`, in UTC (Howard Hinnant's
/// days-to-civil algorithm).
pub fn civil_utc(t: SystemTime) -> (i64, i64, i64, i64) {
    let secs = t.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day, rem)
}
