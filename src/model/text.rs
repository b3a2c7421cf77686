//! Text for people: the one escaping every line of output uses for a name, a path or a value a
//! certificate holds, so that what is printed is what is there.
//!
//! A name can hold characters that print as nothing, or that change how the rest of the line is
//! shown: terminal escape sequences, line breaks, zero-width characters (`post\u{200b}gres` reads
//! as `postgres`), bidirectional overrides (U+202E shows the rest of the line backwards). Text
//! output shows every such character as an escape; JSON output keeps the value exact (serde
//! escapes what JSON requires).

use std::borrow::Cow;

/// Whether `c` is a Unicode format or invisible character text output escapes: one that prints
/// as nothing (or as a space-less join) yet makes a name a different name, or that reorders the
/// display of the text around it.
///
/// The set: soft hyphen U+00AD, combining grapheme joiner U+034F, Arabic letter mark U+061C,
/// the Hangul fillers U+115F, U+1160, U+3164, U+FFA0, Khmer vowels inherent U+17B4–U+17B5,
/// Mongolian selectors U+180B–U+180F, zero-width space, non-joiner, joiner and the
/// left-to-right/right-to-left marks U+200B–U+200F, the line and paragraph separators U+2028–U+2029,
/// the bidirectional embeddings and overrides U+202A–U+202E, word joiner, invisible operators,
/// bidirectional isolates and the deprecated format characters U+2060–U+206F, the byte-order mark
/// U+FEFF, interlinear annotations U+FFF9–U+FFFB, shorthand format controls U+1BCA0–U+1BCA3,
/// musical format controls U+1D173–U+1D17A and tags U+E0000–U+E007F. Variation selectors are
/// not in it: they pick how a visible character is drawn.
pub fn is_invisible(c: char) -> bool {
    matches!(
        c,
        '\u{ad}'
            | '\u{34f}'
            | '\u{61c}'
            | '\u{115f}'
            | '\u{1160}'
            | '\u{17b4}'..='\u{17b5}'
            | '\u{180b}'..='\u{180f}'
            | '\u{200b}'..='\u{200f}'
            | '\u{2028}'..='\u{202e}'
            | '\u{2060}'..='\u{206f}'
            | '\u{3164}'
            | '\u{feff}'
            | '\u{ffa0}'
            | '\u{fff9}'..='\u{fffb}'
            | '\u{1bca0}'..='\u{1bca3}'
            | '\u{1d173}'..='\u{1d17a}'
            | '\u{e0000}'..='\u{e007f}'
    )
}

/// Whether `c` is a bidirectional embedding, override or isolate (U+202A–U+202E,
/// U+2066–U+2069): it reorders how the text after it is displayed, up to the end of the line.
pub fn is_bidi_control(c: char) -> bool {
    matches!(c, '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// Whether text output shows `c` as an escape: a control character or an invisible one
/// ([`is_invisible`]).
pub fn needs_escape(c: char) -> bool {
    c.is_control() || is_invisible(c)
}

/// `s` as text output shows it: every control character written as an escape (`\n`, `\r`, `\t`,
/// `\x1b`, `\u{9b}`) and every invisible or bidirectional format character as `\u{200b}`
/// ([`is_invisible`]); everything else as it is (a backslash too: role names that hold one need
/// `--allow-unusual-role`, host names never do). For every line that prints a name, a path or
/// a value from a certificate: a foreign certificate's subject may carry terminal escape
/// sequences, and a name may hide a character that makes it another name.
///
/// # Examples
///
/// ```
/// use pgca::model::text::escape;
/// assert_eq!(escape("CN=a\u{1b}[2Jb\nc"), "CN=a\\x1b[2Jb\\nc");
/// assert_eq!(escape("post\u{200b}gres"), "post\\u{200b}gres");
/// assert_eq!(escape("CN=Zoë"), "CN=Zoë");
/// ```
pub fn escape(s: &str) -> Cow<'_, str> {
    if !s.chars().any(needs_escape) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_ascii_control() => out.push_str(&format!("\\x{:02x}", u32::from(c))),
            c if needs_escape(c) => out.push_str(&format!("\\u{{{:x}}}", u32::from(c))),
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// `s` [`escape`]d between double quotes, as messages quote a name: `"post\u{200b}gres"`.
pub fn quoted(s: &str) -> String {
    format!("\"{}\"", escape(s))
}

/// A path as text output shows it: its display form, [`escape`]d (a path holds the name of the
/// certificate it is for).
pub fn escape_path(p: &std::path::Path) -> String {
    escape(&p.display().to_string()).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn controls_and_invisibles_are_escaped_and_nothing_else() {
        assert!(matches!(
            escape("CN=db.example.com, O=Zoë \\ Co, 日本語 ❤\u{fe0f}"),
            Cow::Borrowed(_)
        ));
        assert_eq!(
            escape("a\u{1b}[31mred\u{7}\r\n\t\u{0}\u{7f}\u{9b}2J\u{85}z"),
            "a\\x1b[31mred\\x07\\r\\n\\t\\x00\\x7f\\u{9b}2J\\u{85}z"
        );
        assert_eq!(
            escape(
                "a\u{200b}b\u{200c}\u{200d}\u{2060}\u{feff}\u{202e}x\u{2066}\u{61c}\u{200e}\u{200f}"
            ),
            "a\\u{200b}b\\u{200c}\\u{200d}\\u{2060}\\u{feff}\\u{202e}x\\u{2066}\\u{61c}\\u{200e}\\u{200f}"
        );
        for c in (0..=0x10ffff).filter_map(char::from_u32) {
            let escaped = escape(c.encode_utf8(&mut [0; 4])).into_owned();
            assert!(!escaped.chars().any(needs_escape), "{c:?}: {escaped:?}");
            assert_eq!(escaped.chars().count() == 1, !needs_escape(c), "{c:?}");
        }
    }

    #[test]
    fn every_format_character_that_reorders_or_hides_is_in_the_set() {
        for c in [
            '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{202a}', '\u{202b}',
            '\u{202c}', '\u{202d}', '\u{202e}', '\u{2066}', '\u{2067}', '\u{2068}', '\u{2069}',
            '\u{61c}', '\u{200e}', '\u{200f}',
        ] {
            assert!(is_invisible(c), "{c:?}");
        }
        for c in ['\u{202a}', '\u{202e}', '\u{2066}', '\u{2069}'] {
            assert!(is_bidi_control(c), "{c:?}");
        }
        for c in ['\u{200b}', '\u{200e}', '\u{61c}', 'a'] {
            assert!(!is_bidi_control(c), "{c:?}");
        }
    }

    #[test]
    fn paths_are_escaped() {
        assert_eq!(
            escape_path(std::path::Path::new("/ca/clients/post\u{200b}gres.crt")),
            "/ca/clients/post\\u{200b}gres.crt"
        );
    }
}
