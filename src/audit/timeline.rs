//! The timeline of the HTML report: every certificate's and CA's validity as a bar on one time
//! axis, inline SVG (no script, nothing fetched).
//!
//! A bar runs from the entry's not-before (the report's time when that is not known: a served
//! certificate) to its not-after; a dashed line marks the report's time. Its colour is its state
//! by pgca's one due rule ([`CertState::at`]): valid, due (less than a third of its lifetime
//! left), expired, not yet valid; without a not-before, due means less than 30 days left. Each
//! row is labelled with its kind, name and end date, and holds a `<title>` (the tooltip) with
//! its serial, dates and where it was seen.

use time::macros::format_description;
use time::{Date, Duration, Month, OffsetDateTime, UtcOffset};

use super::markup::{date, escape, relative};
use super::report::Expiry;
use crate::model::kind::CertState;
use crate::model::timefmt;

const WIDTH: f64 = 1000.0;
const LABEL_X: f64 = 8.0;
const BAR_X0: f64 = 300.0;
const BAR_X1: f64 = 816.0;
const DATE_X: f64 = 828.0;
const TOP: f64 = 30.0;
const ROW: f64 = 26.0;
const BAR_H: f64 = 14.0;
const MIN_BAR: f64 = 8.0;
/// How many characters of a label fit left of the bars.
const LABEL_CHARS: usize = 44;

/// An entry's state at `at`, as a CSS class suffix and a word.
fn state(e: &Expiry, at: OffsetDateTime) -> (&'static str, &'static str) {
    let s = match e.not_before {
        Some(nb) => CertState::at(nb, e.not_after, at),
        None if at >= e.not_after => CertState::Expired,
        None if e.not_after - at < Duration::days(30) => CertState::Due,
        None => CertState::Valid,
    };
    match s {
        CertState::Due => ("due", "due for renewal"),
        CertState::Expired => ("expired", "expired"),
        CertState::NotYetValid => ("future", "not yet valid"),
        _ => ("valid", "valid"),
    }
}

/// The first `max` characters of `s`, with `…` when cut.
fn cut(s: &str, max: usize) -> String {
    if s.chars().count() <= max {
        s.to_string()
    } else {
        let mut out: String = s.chars().take(max.saturating_sub(1)).collect();
        out.push('…');
        out
    }
}

/// The time axis: seconds since the epoch to x.
struct Axis {
    lo: f64,
    hi: f64,
}

impl Axis {
    fn x(&self, t: OffsetDateTime) -> f64 {
        let f = (t.unix_timestamp() as f64 - self.lo) / (self.hi - self.lo);
        BAR_X0 + f.clamp(0.0, 1.0) * (BAR_X1 - BAR_X0)
    }

    /// The ticks: years, months or days, about ten of them, with their labels.
    fn ticks(&self) -> Vec<(OffsetDateTime, String)> {
        let lo = OffsetDateTime::from_unix_timestamp(self.lo as i64)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC);
        let hi = OffsetDateTime::from_unix_timestamp(self.hi as i64)
            .unwrap_or(OffsetDateTime::UNIX_EPOCH)
            .to_offset(UtcOffset::UTC);
        let days = (self.hi - self.lo) / 86_400.0;
        let at = |d: Date| d.midnight().assume_utc();
        let mut out = Vec::new();
        if days > 3.0 * 365.0 {
            let step = ((days / 365.0 / 10.0).ceil() as i32).max(1);
            for y in lo.year()..=hi.year() {
                if y % step == 0
                    && let Ok(d) = Date::from_calendar_date(y, Month::January, 1)
                {
                    out.push((at(d), y.to_string()));
                }
            }
        } else if days > 70.0 {
            let step = [1u8, 2, 3, 6]
                .into_iter()
                .find(|s| days / 30.0 / f64::from(*s) <= 10.0)
                .unwrap_or(12);
            let (mut y, mut m) = (lo.year(), lo.month());
            while let Ok(d) = Date::from_calendar_date(y, m, 1) {
                if at(d) > hi {
                    break;
                }
                if (u8::from(m) - 1) % step == 0 {
                    let label = if m == Month::January {
                        y.to_string()
                    } else {
                        d.format(format_description!("[month repr:short]"))
                            .unwrap_or_default()
                    };
                    out.push((at(d), label));
                }
                if m == Month::December {
                    y += 1;
                }
                m = m.next();
            }
        } else {
            let step = ((days / 10.0).ceil() as i64).max(1);
            let mut d = lo.date();
            while at(d) <= hi {
                if d.to_julian_day() as i64 % step == 0 {
                    out.push((
                        at(d),
                        d.format(format_description!("[month repr:short] [day]"))
                            .unwrap_or_default(),
                    ));
                }
                match d.next_day() {
                    Some(n) => d = n,
                    None => break,
                }
            }
        }
        out.retain(|(t, _)| {
            let s = t.unix_timestamp() as f64;
            s >= self.lo && s <= self.hi
        });
        out
    }
}

/// The timeline of `entries` (one bar each, in their order) at `at`, as an `<svg>` element.
pub(super) fn timeline_svg(entries: &[Expiry], at: OffsetDateTime) -> String {
    let span = |e: &Expiry| {
        let start = e.not_before.unwrap_or(at);
        (start.min(e.not_after), start.max(e.not_after))
    };
    let mut lo = at.unix_timestamp() as f64;
    let mut hi = lo;
    for e in entries {
        let (s, t) = span(e);
        lo = lo.min(s.unix_timestamp() as f64);
        hi = hi.max(t.unix_timestamp() as f64);
    }
    let pad = ((hi - lo) * 0.02).max(86_400.0);
    let axis = Axis {
        lo: lo - pad,
        hi: hi + pad,
    };
    let rows_end = TOP + ROW * entries.len() as f64;
    let height = rows_end + 58.0;
    let mut o = format!(
        "<svg class=\"timeline\" viewBox=\"0 0 {WIDTH} {height}\" width=\"{WIDTH}\" \
         height=\"{height}\" role=\"img\" aria-label=\"Validity of {} certificates and CAs\">\n",
        entries.len()
    );
    // Lanes, then the grid over them, then the bars.
    for i in (0..entries.len()).step_by(2) {
        o.push_str(&format!(
            "<rect class=\"lane\" x=\"0\" y=\"{}\" width=\"{WIDTH}\" height=\"{ROW}\"/>\n",
            TOP + ROW * i as f64
        ));
    }
    for (t, label) in axis.ticks() {
        let x = axis.x(t);
        o.push_str(&format!(
            "<line class=\"grid\" x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{rows_end}\"/>\
             <text class=\"tick\" x=\"{x:.1}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n",
            TOP - 6.0,
            TOP - 12.0,
            escape(&label)
        ));
    }
    for (i, e) in entries.iter().enumerate() {
        let y = TOP + ROW * i as f64;
        let (s, t) = span(e);
        let (class, word) = state(e, at);
        let open = if e.not_before.is_none() { " open" } else { "" };
        // At least a few pixels, ending at the not-after: an expired served certificate's bar
        // (the report's time to its end) would be a sliver under the audit's line.
        let x1 = axis.x(t);
        let x0 = axis.x(s).min(x1 - MIN_BAR).max(BAR_X0);
        let w = (x1 - x0).max(2.0);
        let from = match e.not_before {
            Some(nb) => timefmt::human(nb),
            None => "not known".into(),
        };
        let kind = cut(&e.kind, LABEL_CHARS / 2);
        let name = cut(
            &e.name,
            LABEL_CHARS.saturating_sub(kind.chars().count() + 1),
        );
        let left = match (e.not_after > at, relative(e.not_after, at)) {
            (true, r) => r.replace(" days", " d").replace(" day", " d"),
            (false, _) => "expired".into(),
        };
        o.push_str(&format!(
            "<g class=\"entry\"><title>{} {}: serial {}, valid from {from} until {}, {word} \
             (seen: {})</title>\n<text x=\"{LABEL_X}\" y=\"{:.1}\"><tspan class=\"kind\">{}\
             </tspan> {}</text>\n<rect class=\"b-{class}{open}\" x=\"{x0:.1}\" y=\"{:.1}\" \
             width=\"{w:.1}\" height=\"{BAR_H}\" rx=\"3\"/>\n<text x=\"{DATE_X}\" y=\"{:.1}\">{} \
             · {left}</text></g>\n",
            escape(&e.kind),
            escape(&e.name),
            escape(&e.serial),
            timefmt::human(e.not_after),
            escape(e.seen),
            y + 17.0,
            escape(&kind),
            escape(&name),
            y + (ROW - BAR_H) / 2.0,
            y + 17.0,
            date(e.not_after),
        ));
    }
    let now = axis.x(at);
    o.push_str(&format!(
        "<line class=\"now\" x1=\"{now:.1}\" y1=\"{}\" x2=\"{now:.1}\" y2=\"{}\"/>\
         <text x=\"{now:.1}\" y=\"{}\" text-anchor=\"middle\">audit: {}</text>\n",
        TOP - 4.0,
        rows_end + 4.0,
        rows_end + 18.0,
        date(at)
    ));
    legend(&mut o, rows_end + 42.0);
    o.push_str("</svg>\n");
    o
}

/// The colours' meaning, one line.
fn legend(o: &mut String, y: f64) {
    let mut x = LABEL_X;
    for (class, word) in [
        ("b-valid", "valid"),
        (
            "b-due",
            "due for renewal (under a third of its lifetime left)",
        ),
        ("b-expired", "expired"),
        ("b-future", "not yet valid"),
        ("b-valid open", "start not known"),
    ] {
        o.push_str(&format!(
            "<rect class=\"{class}\" x=\"{x:.1}\" y=\"{:.1}\" width=\"14\" height=\"10\" \
             rx=\"2\"/><text class=\"tick\" x=\"{:.1}\" y=\"{y:.1}\">{word}</text>\n",
            y - 9.0,
            x + 19.0
        ));
        x += 19.0 + word.chars().count() as f64 * 5.6 + 20.0;
    }
    o.push_str(&format!(
        "<line class=\"now\" x1=\"{:.1}\" y1=\"{:.1}\" x2=\"{:.1}\" y2=\"{:.1}\"/><text \
         class=\"tick\" x=\"{:.1}\" y=\"{y:.1}\">the audit's time</text>\n",
        x + 6.0,
        y - 11.0,
        x + 6.0,
        y + 2.0,
        x + 14.0
    ));
}
