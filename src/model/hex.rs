//! Hexadecimal, the one encoder: serials, fingerprints, key identifiers and digests.

/// Lower-case hex without separators: `0a1b`.
pub fn lower(bytes: &[u8]) -> String {
    encode(bytes, false, None)
}

/// Hex with a separator between bytes, upper or lower case: `0A:1B`.
pub fn with_separator(bytes: &[u8], upper: bool, sep: char) -> String {
    encode(bytes, upper, Some(sep))
}

fn encode(bytes: &[u8], upper: bool, sep: Option<char>) -> String {
    let digits: &[u8; 16] = if upper {
        b"0123456789ABCDEF"
    } else {
        b"0123456789abcdef"
    };
    let mut s = String::with_capacity(bytes.len() * 3);
    for (i, b) in bytes.iter().enumerate() {
        if i > 0
            && let Some(c) = sep
        {
            s.push(c);
        }
        s.push(digits[usize::from(b >> 4)] as char);
        s.push(digits[usize::from(b & 0x0f)] as char);
    }
    s
}

/// Decodes hex (either case, no separators); `None` for anything else.
pub fn decode(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) {
        return None;
    }
    s.as_bytes()
        .chunks(2)
        .map(|p| {
            let hi = (p[0] as char).to_digit(16)?;
            let lo = (p[1] as char).to_digit(16)?;
            Some((hi * 16 + lo) as u8)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encodes_and_decodes() {
        assert_eq!(lower(&[0x0a, 0xff]), "0aff");
        assert_eq!(with_separator(&[0x0a, 0xff], true, ':'), "0A:FF");
        assert_eq!(with_separator(&[], true, ':'), "");
        assert_eq!(decode("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode("0a f"), None);
        assert_eq!(decode("abc"), None);
    }
}
