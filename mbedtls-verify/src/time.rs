//! Dates: [`DateTime`], a UTC date and time to the second, as X.509 carries it.
//!
//! A basic layer (see the crate's layer picture): the DER writer and the certificate
//! accessors both use it; it depends on nothing but `core` and the raw time struct of
//! the shim.

use core::fmt;

use crate::sys;

/// A UTC date and time, to the second (what X.509 carries).
///
/// Ordered chronologically (the fields are compared in order).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct DateTime {
    /// Year, e.g. 2026.
    pub year: u16,
    /// Month, 1 to 12.
    pub month: u8,
    /// Day of the month, 1 to 31.
    pub day: u8,
    /// Hour, 0 to 23.
    pub hour: u8,
    /// Minute, 0 to 59.
    pub minute: u8,
    /// Second, 0 to 59 (X.509 has no leap second).
    pub second: u8,
}

fn is_leap(y: i64) -> bool {
    (y % 4 == 0 && y % 100 != 0) || y % 400 == 0
}

fn days_in_month(y: i64, m: u8) -> u8 {
    match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(y) => 29,
        2 => 28,
        _ => 0,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn civil_from_days(z: i64) -> (i64, i64, i64) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

impl DateTime {
    /// A checked date: years 0 to 9999, real calendar days, seconds 0 to 59.
    pub fn new(year: u16, month: u8, day: u8, hour: u8, minute: u8, second: u8) -> Option<Self> {
        let t = DateTime {
            year,
            month,
            day,
            hour,
            minute,
            second,
        };
        t.is_valid().then_some(t)
    }

    /// Whether every field is in range (see [`DateTime::new`]).
    pub fn is_valid(&self) -> bool {
        self.year <= 9999
            && (1..=12).contains(&self.month)
            && self.day >= 1
            && self.day <= days_in_month(i64::from(self.year), self.month)
            && self.hour < 24
            && self.minute < 60
            && self.second < 60
    }

    /// Seconds since 1970-01-01T00:00:00Z (negative before).
    pub fn unix_timestamp(&self) -> i64 {
        let days = days_from_civil(
            i64::from(self.year),
            i64::from(self.month),
            i64::from(self.day),
        );
        days * 86_400
            + i64::from(self.hour) * 3600
            + i64::from(self.minute) * 60
            + i64::from(self.second)
    }

    /// The date of a Unix timestamp; `None` outside years 0 to 9999.
    pub fn from_unix(t: i64) -> Option<Self> {
        // Years 0..=9999 span about ±3e11 seconds; reject far-away values before arithmetic.
        if !(-62_167_219_200..=253_402_300_799).contains(&t) {
            return None;
        }
        let days = t.div_euclid(86_400);
        let secs = t.rem_euclid(86_400);
        let (y, m, d) = civil_from_days(days);
        Some(DateTime {
            year: u16::try_from(y).ok()?,
            month: m as u8,
            day: d as u8,
            hour: (secs / 3600) as u8,
            minute: (secs / 60 % 60) as u8,
            second: (secs % 60) as u8,
        })
    }

    /// Parse RFC 3339 (`2026-01-02T03:04:05Z`, `2026-01-02T05:04:05+02:00`, optional
    /// fractional seconds, which are dropped), converting to UTC.
    pub fn parse_rfc3339(s: &str) -> Option<DateTime> {
        let b = s.as_bytes();
        let num = |r: core::ops::Range<usize>| -> Option<u16> {
            let d = b.get(r)?;
            if d.is_empty() || !d.iter().all(u8::is_ascii_digit) {
                return None;
            }
            Some(
                d.iter()
                    .fold(0u16, |acc, &c| acc * 10 + u16::from(c - b'0')),
            )
        };
        if b.len() < 20 || b[4] != b'-' || b[7] != b'-' || !matches!(b[10], b'T' | b't' | b' ') {
            return None;
        }
        if b[13] != b':' || b[16] != b':' {
            return None;
        }
        let t = DateTime::new(
            num(0..4)?,
            num(5..7)? as u8,
            num(8..10)? as u8,
            num(11..13)? as u8,
            num(14..16)? as u8,
            num(17..19)? as u8,
        )?;
        let mut i = 19;
        if b[i] == b'.' {
            i += 1;
            let start = i;
            while b.get(i).is_some_and(u8::is_ascii_digit) {
                i += 1;
            }
            if i == start {
                return None;
            }
        }
        let offset: i64 = match b.get(i..)? {
            [b'Z' | b'z'] => 0,
            [sign @ (b'+' | b'-'), _, _, b':', _, _] => {
                let h = i64::from(num(i + 1..i + 3)?);
                let m = i64::from(num(i + 4..i + 6)?);
                if h > 23 || m > 59 {
                    return None;
                }
                let off = h * 3600 + m * 60;
                if *sign == b'+' { off } else { -off }
            }
            _ => return None,
        };
        DateTime::from_unix(t.unix_timestamp() - offset)
    }

    pub(crate) fn from_mv(t: &sys::mv_time) -> DateTime {
        let c = |v: i32| u8::try_from(v).unwrap_or(0);
        DateTime {
            year: u16::try_from(t.year).unwrap_or(0),
            month: c(t.mon),
            day: c(t.day),
            hour: c(t.hour),
            minute: c(t.min),
            second: c(t.sec),
        }
    }
}

impl fmt::Display for DateTime {
    /// RFC 3339 in UTC: `2026-01-02T03:04:05Z`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
            self.year, self.month, self.day, self.hour, self.minute, self.second
        )
    }
}
