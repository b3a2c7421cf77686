//! Formatting of points in time for people (messages, `list`) and machines (`--json`, inventory).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;
use time::macros::format_description;

/// `2027-11-21 05:40:00 UTC`: what messages and tables show.
pub fn human(t: OffsetDateTime) -> String {
    let fmt = format_description!("[year]-[month]-[day] [hour]:[minute]:[second] UTC");
    t.to_offset(time::UtcOffset::UTC)
        .format(&fmt)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `2027-11-21T05:40:00Z`: what JSON output and the inventory hold.
pub fn rfc3339(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .replace_nanosecond(0)
        .unwrap_or(t)
        .format(&Rfc3339)
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// The current time, whole seconds (certificates cannot hold more).
pub fn now() -> OffsetDateTime {
    OffsetDateTime::now_utc()
        .replace_nanosecond(0)
        .expect("0 is a valid nanosecond")
}

#[cfg(test)]
mod tests {
    use super::*;
    use time::macros::datetime;

    #[test]
    fn formats() {
        let t = datetime!(2027-11-21 05:40:07.5 UTC);
        assert_eq!(human(t), "2027-11-21 05:40:07 UTC");
        assert_eq!(rfc3339(t), "2027-11-21T05:40:07Z");
    }
}
