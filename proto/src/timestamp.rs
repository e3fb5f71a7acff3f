//! Timestamps as they appear in artifacts: RFC 3339 in UTC with whole seconds
//! (`2026-11-24T10:00:00Z`), one spelling per instant so canonical bytes are stable.

use std::fmt;
use std::str::FromStr;

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

const FORMAT: &[FormatItem<'static>] =
    format_description!("[year]-[month]-[day]T[hour]:[minute]:[second]Z");

/// An instant, in whole seconds since the Unix epoch, between 1970 and 9999.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Timestamp(u64);

/// A string that is not `YYYY-MM-DDTHH:MM:SSZ`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("`{0}` is not a UTC timestamp of the form YYYY-MM-DDTHH:MM:SSZ")]
pub struct TimestampParseError(pub String);

/// The largest accepted instant: 9999-12-31T23:59:59Z.
const MAX_UNIX: u64 = 253_402_300_799;

impl Timestamp {
    /// The instant `secs` seconds after the epoch, if it is before the year 10000.
    pub fn from_unix(secs: u64) -> Option<Self> {
        (secs <= MAX_UNIX).then_some(Timestamp(secs))
    }

    /// Seconds since the Unix epoch.
    pub fn unix(self) -> u64 {
        self.0
    }

    /// The current time from the system clock (only binaries call this; libraries take time
    /// as an input).
    pub fn now() -> Self {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        Timestamp(secs.min(MAX_UNIX))
    }

    /// `self + secs`, saturating at the largest timestamp.
    pub fn plus_secs(self, secs: u64) -> Self {
        Timestamp(self.0.saturating_add(secs).min(MAX_UNIX))
    }
}

impl FromStr for Timestamp {
    type Err = TimestampParseError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let bad = || TimestampParseError(s.chars().take(40).collect());
        let parsed = time::PrimitiveDateTime::parse(s, FORMAT).map_err(|_| bad())?;
        let unix = parsed.assume_utc().unix_timestamp();
        u64::try_from(unix)
            .ok()
            .and_then(Timestamp::from_unix)
            .ok_or_else(bad)
    }
}

impl fmt::Display for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        let at = i64::try_from(self.0)
            .ok()
            .and_then(|s| OffsetDateTime::from_unix_timestamp(s).ok())
            .ok_or(fmt::Error)?;
        f.write_str(&at.format(FORMAT).map_err(|_| fmt::Error)?)
    }
}

impl fmt::Debug for Timestamp {
    fn fmt(&self, f: &mut fmt::Formatter) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

crate::serde_via_str!(Timestamp);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_spelling_per_instant() {
        let t: Timestamp = "2026-11-24T10:00:00Z".parse().unwrap();
        assert_eq!(t.unix(), 1_795_514_400);
        assert_eq!(t.to_string(), "2026-11-24T10:00:00Z");
        for bad in [
            "2026-11-24T10:00:00+00:00",
            "2026-11-24T10:00:00.5Z",
            "2026-11-24 10:00:00Z",
            "2026-13-01T00:00:00Z",
            "",
        ] {
            assert!(bad.parse::<Timestamp>().is_err(), "{bad}");
        }
    }
}
