//! Validity periods written the way admins write them: `90d`, `1y`, `12h`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A positive length of time, in whole seconds, parsed from `<number><unit>`.
///
/// Units: `s` seconds, `m` minutes, `h` hours, `d` days, `w` weeks, `y` years of 365 days.
/// Calendar months are not offered: their length varies, and a certificate's lifetime should not.
///
/// # Examples
///
/// ```
/// use pgca::Validity;
/// let v: Validity = "90d".parse()?;
/// assert_eq!(v.seconds(), 90 * 86_400);
/// assert_eq!(v.to_string(), "90d");
/// assert!("0d".parse::<Validity>().is_err());
/// # Ok::<(), pgca::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Validity {
    seconds: i64,
}

/// The longest validity accepted: 100 years (X.509 can hold more; nothing sensible needs it).
const MAX_SECONDS: i64 = 100 * 365 * 86_400;

impl Validity {
    /// A validity of whole days.
    pub const fn days(days: i64) -> Self {
        Validity {
            seconds: days * 86_400,
        }
    }

    /// A validity of whole seconds; `None` unless 1 ≤ seconds ≤ 100 years.
    pub const fn from_seconds(seconds: i64) -> Option<Self> {
        if seconds > 0 && seconds <= MAX_SECONDS {
            Some(Validity { seconds })
        } else {
            None
        }
    }

    /// The length in seconds.
    pub const fn seconds(self) -> i64 {
        self.seconds
    }

    /// The length as a [`time::Duration`].
    pub fn duration(self) -> time::Duration {
        time::Duration::seconds(self.seconds)
    }
}

impl FromStr for Validity {
    type Err = Error;

    fn from_str(input: &str) -> Result<Self> {
        let bad = |reason| Error::InvalidDuration {
            input: input.to_string(),
            reason,
        };
        let s = input.trim();
        if s.starts_with('-') {
            return Err(bad("must be positive"));
        }
        let split = s
            .find(|c: char| !c.is_ascii_digit())
            .ok_or_else(|| bad("missing unit: write e.g. 90d, 1y, 12h (s, m, h, d, w, y)"))?;
        let (digits, unit) = s.split_at(split);
        if digits.is_empty() {
            return Err(bad(
                "expected a number followed by a unit, e.g. 90d, 1y, 12h",
            ));
        }
        let per_unit: i64 = match unit {
            "s" => 1,
            "m" => 60,
            "h" => 3_600,
            "d" => 86_400,
            "w" => 7 * 86_400,
            "y" => 365 * 86_400,
            _ => return Err(bad("unknown unit: use s, m, h, d, w or y")),
        };
        let n: i64 = digits.parse().map_err(|_| bad("number too large"))?;
        if n == 0 {
            return Err(bad("must be greater than zero"));
        }
        let seconds = n
            .checked_mul(per_unit)
            .ok_or_else(|| bad("number too large"))?;
        Validity::from_seconds(seconds).ok_or_else(|| bad("longer than 100 years"))
    }
}

impl fmt::Display for Validity {
    /// The largest unit that divides the length exactly: `90d`, `1y`, `12h`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = self.seconds;
        for (unit, n) in [
            ("y", 365 * 86_400),
            ("w", 7 * 86_400),
            ("d", 86_400),
            ("h", 3_600),
            ("m", 60),
        ] {
            if s % n == 0 {
                // Weeks read oddly for day counts like 364d; prefer days unless it is a whole week count below a year.
                if unit == "w" && s % 86_400 == 0 && s / 86_400 >= 365 {
                    continue;
                }
                return write!(f, "{}{unit}", s / n);
            }
        }
        write!(f, "{s}s")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_units() {
        for (s, secs) in [
            ("90d", 90 * 86_400),
            ("1y", 365 * 86_400),
            ("12h", 12 * 3_600),
            ("30m", 1_800),
            ("45s", 45),
            ("2w", 14 * 86_400),
        ] {
            assert_eq!(s.parse::<Validity>().unwrap().seconds(), secs, "{s}");
        }
    }

    #[test]
    fn refuses_bad_input_with_reason() {
        for (s, why) in [
            ("0d", "greater than zero"),
            ("-5d", "positive"),
            ("abc", "number followed by a unit"),
            ("90", "missing unit"),
            ("90x", "unknown unit"),
            ("", "missing unit"),
            ("1.5d", "unknown unit"),
            ("101y", "100 years"),
            ("99999999999999999999d", "too large"),
        ] {
            let e = s.parse::<Validity>().unwrap_err().to_string();
            assert!(e.contains(why), "{s:?}: {e}");
        }
    }

    #[test]
    fn displays_round_trip() {
        for s in ["90d", "1y", "12h", "30m", "45s", "2w", "400d"] {
            let v: Validity = s.parse().unwrap();
            assert_eq!(v.to_string().parse::<Validity>().unwrap(), v, "{s}");
        }
        assert_eq!(Validity::days(3650).to_string(), "10y");
        assert_eq!(Validity::days(365).to_string(), "1y");
    }
}
