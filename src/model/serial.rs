//! Certificate serial numbers: random, positive, unique.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Bytes in a serial pgca issues: 16, with the top two bits fixed (`01`): positive, no leading zero
/// byte, and 126 bits from the system's random source.
pub const SERIAL_BYTES: usize = 16;

/// A certificate serial number, shown as lowercase hex (`openssl x509 -serial` prints it in capitals).
///
/// rcgen's default serial is derived from the public key, so a renewal that kept its key would repeat
/// it; pgca always draws a fresh random one.
///
/// # Examples
///
/// ```
/// use pgca::Serial;
/// let s = Serial::random();
/// assert_eq!(s.to_string().len(), 32);
/// assert_eq!(s.to_string().parse::<Serial>().unwrap(), s);
/// assert_eq!("0A:1b".parse::<Serial>().unwrap().to_string(), "0a1b");
/// ```
#[derive(Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Serial(Vec<u8>);

impl Serial {
    /// A new random serial.
    pub fn random() -> Serial {
        use ring::rand::SecureRandom;
        let mut b = vec![0u8; SERIAL_BYTES];
        ring::rand::SystemRandom::new()
            .fill(&mut b)
            .expect("the system random source works");
        b[0] = (b[0] & 0x3f) | 0x40;
        Serial(b)
    }

    /// From the big-endian bytes of a certificate's serial (leading zero bytes dropped).
    pub fn from_bytes(bytes: &[u8]) -> Serial {
        let start = bytes
            .iter()
            .position(|&b| b != 0)
            .unwrap_or(bytes.len().saturating_sub(1));
        Serial(bytes[start..].to_vec())
    }

    /// The big-endian bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Display for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&crate::model::hex::lower(&self.0))
    }
}

impl fmt::Debug for Serial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Serial({self})")
    }
}

/// Why a serial could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadSerial;

impl fmt::Display for BadSerial {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a serial is hexadecimal digits, optionally separated by ':'")
    }
}

impl std::error::Error for BadSerial {}

impl FromStr for Serial {
    type Err = BadSerial;

    fn from_str(s: &str) -> Result<Self, BadSerial> {
        // Every inventory line holds a serial: this is on the path of reading 100,000 of them.
        let digits = s
            .bytes()
            .filter(|&b| b != b':')
            .map(|b| char::from(b).to_digit(16).map(|d| d as u8).ok_or(BadSerial))
            .collect::<Result<Vec<u8>, BadSerial>>()?;
        if digits.is_empty() || digits.len() > 40 {
            return Err(BadSerial);
        }
        let odd = digits.len() % 2;
        let mut bytes = Vec::with_capacity(digits.len() / 2 + odd);
        if odd == 1 {
            bytes.push(digits[0]);
        }
        bytes.extend(digits[odd..].chunks_exact(2).map(|p| (p[0] << 4) | p[1]));
        Ok(Serial::from_bytes(&bytes))
    }
}

impl Serialize for Serial {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Serial {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = <std::borrow::Cow<'de, str>>::deserialize(d)?;
        s.parse().map_err(serde::de::Error::custom)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn random_serials_are_positive_16_bytes_and_distinct() {
        let mut seen = std::collections::HashSet::new();
        for _ in 0..1000 {
            let s = Serial::random();
            assert_eq!(s.as_bytes().len(), SERIAL_BYTES);
            assert_eq!(
                s.as_bytes()[0] & 0xc0,
                0x40,
                "top bits 01: positive, no leading zero"
            );
            assert!(seen.insert(s));
        }
    }

    #[test]
    fn parses_and_refuses() {
        assert_eq!("00ff".parse::<Serial>().unwrap().as_bytes(), &[0xff]);
        assert_eq!("abc".parse::<Serial>().unwrap().as_bytes(), &[0x0a, 0xbc]);
        for bad in ["", "xyz", "12 34", &"a".repeat(41)] {
            assert!(bad.parse::<Serial>().is_err(), "{bad:?}");
        }
    }
}
