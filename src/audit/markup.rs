//! Text and dates as the HTML report (`html`, `timeline`) shows them.

use time::OffsetDateTime;
use time::macros::format_description;

use crate::model::text;

/// `s` as the page shows it: [`text::escape`]d, then with `&`, `<`, `>`, `"` and `'` as
/// entities, so that it is text in an element and in an attribute alike.
pub(super) fn escape(s: &str) -> String {
    let shown = text::escape(s);
    let mut out = String::with_capacity(shown.len() + 8);
    for c in shown.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// `2027-11-21`.
pub(super) fn date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC)
        .format(format_description!("[year]-[month]-[day]"))
        .unwrap_or_else(|_| t.unix_timestamp().to_string())
}

/// `in 45 days`, `expires today`, `expired 3 days ago`.
pub(super) fn relative(until: OffsetDateTime, now: OffsetDateTime) -> String {
    let days = (until - now).whole_days();
    let unit = |n: i64| if n == 1 { "day" } else { "days" };
    if until <= now {
        let ago = -days;
        if ago == 0 {
            "expired today".into()
        } else {
            format!("expired {ago} {} ago", unit(ago))
        }
    } else if days == 0 {
        "expires today".into()
    } else {
        format!("in {days} {}", unit(days))
    }
}
