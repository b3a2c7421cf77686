//! Hexadecimal, the one encoder: serials, fingerprints, key identifiers and digests.

/// Lower-case hex without separators: `0a1b`.
pub fn lower(bytes: &[u8]) -> String {
    encode(bytes, false, None)
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

/// Hex with `:` between bytes, as OpenSSL prints key identifiers: `0a:1b`, or `0A:1B` upper.
pub fn colons(bytes: &[u8], upper: bool) -> String {
    encode(bytes, upper, Some(':'))
}

/// SHA-256 of `bytes` as lowercase hex without separators: the fingerprints the inventory keeps.
pub fn sha256(bytes: &[u8]) -> String {
    lower(ring::digest::digest(&ring::digest::SHA256, bytes).as_ref())
}

/// `n` random bytes from the system's source, as lowercase hex (temporary names, CA subjects).
pub fn random(n: usize) -> String {
    use ring::rand::SecureRandom;
    let mut b = vec![0u8; n];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .expect("the system random source works");
    lower(&b)
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
        assert_eq!(colons(&[0x0a, 0xff], true), "0A:FF");
        assert_eq!(colons(&[0x0a, 0xff], false), "0a:ff");
        assert_eq!(colons(&[], true), "");
        assert_eq!(
            sha256(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(random(6).len(), 12);
        assert_eq!(decode("0aFF"), Some(vec![0x0a, 0xff]));
        assert_eq!(decode("0a f"), None);
        assert_eq!(decode("abc"), None);
    }
}
