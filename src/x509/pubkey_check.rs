//! The public keys pgca refuses to certify: ones it did not generate (a request's, an external
//! key's at renewal) that are degenerate or weak.
//!
//! A certificate vouches for whoever can sign with its key. A request's self-signature only
//! shows that *a* signature verifies, and some keys make that worthless:
//!
//! - **Ed25519**: a point of small order (order 1, 2, 4 or 8: the identity and the seven other
//!   torsion points) has signatures that verify for every message (`R` = identity, `s` = 0 with
//!   the identity as the key), so anyone can sign for it; and an encoding that is not the
//!   point's canonical one (`y >= p`, or `x = 0` with the sign bit set) is read differently by
//!   different verifiers. The point is decoded, [8]P computed, and every such encoding refused.
//! - **ECDSA P-256 / P-384**: the point must be uncompressed (`04 || x || y`), with coordinates
//!   below the field prime and on the curve (`y² = x³ - 3x + b`); the point at infinity is
//!   refused. ring refuses such points when it verifies a request's signature, but a key pgca
//!   re-signs at renewal is not verified again, so the check is made here regardless.
//! - **RSA**: a modulus of at least 2048 bits, odd, with no prime factor below 2^16 (trial
//!   division: a random modulus has none), and an odd public exponent of at least 65537.
//!
//! [`check_public_key`] is the one check: [`crate::x509::csr`] applies it to a request before its
//! signature, and [`crate::x509::profile`] before it signs any certificate for a public key held
//! elsewhere.

use std::sync::OnceLock;

use rsa::BigUint;
use x509_parser::prelude::FromDer;
use x509_parser::public_key::PublicKey;
use x509_parser::x509::SubjectPublicKeyInfo;

use crate::error::WeakKey;
use crate::x509::keys::KeyType;

/// The smallest RSA modulus pgca certifies, in bits.
const MIN_RSA_BITS: usize = 2048;

/// The smallest RSA public exponent pgca certifies (F4, what every key generator uses).
const MIN_RSA_EXPONENT: u64 = 65537;

/// Checks a DER SubjectPublicKeyInfo of a key pgca did not generate: `Ok` with its type when
/// pgca certifies it, else why not (see the module docs).
pub fn check_public_key(spki_der: &[u8]) -> Result<KeyType, WeakKey> {
    let key_type = KeyType::of_spki(spki_der).ok_or(WeakKey::Unsupported)?;
    let (_, spki) = SubjectPublicKeyInfo::from_der(spki_der).map_err(|_| WeakKey::Unsupported)?;
    let data: &[u8] = &spki.subject_public_key.data;
    match key_type {
        KeyType::Ed25519 => check_ed25519(data)?,
        KeyType::EcdsaP256 => check_ec_point(data, &curves().p256)?,
        KeyType::EcdsaP384 => check_ec_point(data, &curves().p384)?,
        KeyType::Rsa2048 | KeyType::Rsa3072 | KeyType::Rsa4096 => match spki.parsed() {
            Ok(PublicKey::RSA(rsa)) => check_rsa(rsa.modulus, rsa.exponent)?,
            _ => return Err(WeakKey::Unsupported),
        },
    }
    Ok(key_type)
}

/// A short Weierstrass curve `y² = x³ - 3x + b` over the prime field of `p`.
struct Curve {
    name: &'static str,
    p: BigUint,
    b: BigUint,
    /// The length of a coordinate in bytes.
    len: usize,
}

/// Ed25519's constants: the field prime, `d`, a square root of -1, and the y coordinates of its
/// eight small-order points.
struct Edwards {
    p: BigUint,
    d: BigUint,
    sqrt_m1: BigUint,
    /// 1 (the identity), -1 (order 2), 0 (order 4: x = ±sqrt(-1)), ±y8 (order 8, both signs of
    /// x each). A point on the curve has small order exactly when its y is one of them (a y fixes
    /// the point up to the sign of x, and -P has P's order), so no scalar multiplication is
    /// needed: the tests multiply each by 8 to hold this list to the curve.
    small_order_ys: [BigUint; 5],
}

struct Curves {
    p256: Curve,
    p384: Curve,
    ed25519: Edwards,
}

fn hex(s: &str) -> BigUint {
    BigUint::parse_bytes(s.as_bytes(), 16).expect("a hex constant")
}

fn curves() -> &'static Curves {
    static CURVES: OnceLock<Curves> = OnceLock::new();
    CURVES.get_or_init(|| {
        let one = BigUint::from(1u32);
        // 2^255 - 19.
        let p = (&one << 255usize) - BigUint::from(19u32);
        // d = -121665 / 121666.
        let d = (&p - BigUint::from(121665u32)) * inverse(&BigUint::from(121666u32), &p) % &p;
        // 2^((p - 1) / 4).
        let sqrt_m1 = BigUint::from(2u32).modpow(&((&p - &one) >> 2usize), &p);
        let y8 = BigUint::parse_bytes(
            b"2707385501144840649318225287225658788936804267575313519463743609750303402022",
            10,
        )
        .expect("a decimal constant");
        let small_order_ys = [
            one.clone(),
            &p - &one,
            BigUint::from(0u32),
            y8.clone(),
            &p - &y8,
        ];
        Curves {
            p256: Curve {
                name: "ECDSA P-256",
                // 2^256 - 2^224 + 2^192 + 2^96 - 1.
                p: hex("ffffffff00000001000000000000000000000000ffffffffffffffffffffffff"),
                b: hex("5ac635d8aa3a93e7b3ebbd55769886bc651d06b0cc53b0f63bce3c3e27d2604b"),
                len: 32,
            },
            p384: Curve {
                name: "ECDSA P-384",
                // 2^384 - 2^128 - 2^96 + 2^32 - 1.
                p: hex(concat!(
                    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                    "fffeffffffff0000000000000000ffffffff"
                )),
                b: hex(concat!(
                    "b3312fa7e23ee7e4988e056be3f82d19181d9c6efe8141120314088f5013",
                    "875ac656398d8a2ed19d2a85c8edd3ec2aef"
                )),
                len: 48,
            },
            ed25519: Edwards {
                p,
                d,
                sqrt_m1,
                small_order_ys,
            },
        }
    })
}

/// `a⁻¹ mod p` for a prime `p` (Fermat): 0 for 0.
fn inverse(a: &BigUint, p: &BigUint) -> BigUint {
    a.modpow(&(p - BigUint::from(2u32)), p)
}

/// `a - b mod p`, for `a, b < p`.
fn sub(a: &BigUint, b: &BigUint, p: &BigUint) -> BigUint {
    (a + p - b) % p
}

/// An uncompressed point on `curve`, not at infinity, coordinates below `p`.
fn check_ec_point(data: &[u8], curve: &Curve) -> Result<(), WeakKey> {
    let name = curve.name;
    match data.first() {
        None | Some(0) => return Err(WeakKey::Infinity { curve: name }),
        Some(2 | 3) => return Err(WeakKey::Compressed { curve: name }),
        Some(4) if data.len() == 1 + 2 * curve.len => {}
        Some(_) => return Err(WeakKey::NotOnCurve { curve: name }),
    }
    let p = &curve.p;
    let x = BigUint::from_bytes_be(&data[1..=curve.len]);
    let y = BigUint::from_bytes_be(&data[1 + curve.len..]);
    if &x >= p || &y >= p {
        return Err(WeakKey::NotOnCurve { curve: name });
    }
    let lhs = &y * &y % p;
    let x3 = &x * &x % p * &x % p;
    let rhs = (sub(&x3, &(BigUint::from(3u32) * &x % p), p) + &curve.b) % p;
    if lhs != rhs {
        return Err(WeakKey::NotOnCurve { curve: name });
    }
    Ok(())
}

/// A 32-byte Ed25519 public key (RFC 8032 §5.1.3) that decodes to a point of large order, in
/// its canonical encoding.
fn check_ed25519(data: &[u8]) -> Result<(), WeakKey> {
    let bytes: [u8; 32] = data
        .try_into()
        .map_err(|_| WeakKey::NotOnCurve { curve: "Ed25519" })?;
    let e = &curves().ed25519;
    let p = &e.p;
    let sign = bytes[31] >> 7;
    let mut y_le = bytes;
    y_le[31] &= 0x7f;
    let y_raw = BigUint::from_bytes_le(&y_le);
    // y >= p: the same point as y - p, but not its encoding. Decoded as that point, so that a
    // small-order point says so whatever its encoding.
    let mut non_canonical = &y_raw >= p;
    let y = y_raw % p;
    let one = BigUint::from(1u32);
    let y2 = &y * &y % p;
    let u = sub(&y2, &one, p);
    let v = (&e.d * &y2 + &one) % p;
    let x2 = &u * inverse(&v, p) % p;
    if x2 == BigUint::from(0u32) {
        // x = 0 has no negative: a set sign bit is another encoding of the same point.
        non_canonical |= sign == 1;
    } else {
        // A square root of u/v exists (x = (u/v)^((p+3)/8), times sqrt(-1) if that squares to
        // -(u/v)), or the bytes are no point; its sign is the encoding's choice.
        let mut x = x2.modpow(&((p + BigUint::from(3u32)) >> 3usize), p);
        if &x * &x % p != x2 {
            x = &x * &e.sqrt_m1 % p;
        }
        if &x * &x % p != x2 {
            return Err(if non_canonical {
                WeakKey::NonCanonical
            } else {
                WeakKey::NotOnCurve { curve: "Ed25519" }
            });
        }
    }
    // On the curve, so of small order exactly when its y is one of the eight points'.
    if e.small_order_ys.contains(&y) {
        return Err(WeakKey::SmallOrder);
    }
    if non_canonical {
        return Err(WeakKey::NonCanonical);
    }
    Ok(())
}

/// The odd primes below 2^16, for trial division.
fn small_primes() -> &'static [u32] {
    static PRIMES: OnceLock<Vec<u32>> = OnceLock::new();
    PRIMES.get_or_init(|| {
        const N: usize = 1 << 16;
        let mut composite = vec![false; N];
        let mut primes = Vec::new();
        for i in 2..N {
            if !composite[i] {
                if i > 2 {
                    primes.push(i as u32);
                }
                for j in (i * i..N).step_by(i) {
                    composite[j] = true;
                }
            }
        }
        primes
    })
}

/// The odd primes below 2^16 in groups whose product fits in 64 bits (four at most): trial
/// division then takes one pass over the modulus per group instead of one per prime, a quarter
/// of the passes, which made certifying an RSA key several milliseconds cheaper.
fn prime_groups() -> &'static [(u64, Vec<u32>)] {
    static GROUPS: OnceLock<Vec<(u64, Vec<u32>)>> = OnceLock::new();
    GROUPS.get_or_init(|| {
        let mut groups: Vec<(u64, Vec<u32>)> = Vec::new();
        for &q in small_primes() {
            match groups.last_mut() {
                Some((product, members)) if product.checked_mul(u64::from(q)).is_some() => {
                    *product *= u64::from(q);
                    members.push(q);
                }
                _ => groups.push((u64::from(q), vec![q])),
            }
        }
        groups
    })
}

/// `n mod m` for a big-endian `n` and a 64-bit `m`.
fn rem_u64(n: &[u8], m: u64) -> u64 {
    let m = u128::from(m);
    let mut r = 0u128;
    let (head, words) = n.split_at(n.len() % 8);
    for &b in head {
        r = ((r << 8) | u128::from(b)) % m;
    }
    for w in words.chunks_exact(8) {
        let w = u64::from_be_bytes(w.try_into().expect("8 bytes"));
        r = ((r << 64) | u128::from(w)) % m;
    }
    r as u64
}

/// The smallest prime below 2^16 that divides the big-endian `n`, if any.
fn small_factor(n: &[u8]) -> Option<u32> {
    prime_groups().iter().find_map(|(product, primes)| {
        let r = rem_u64(n, *product);
        primes
            .iter()
            .copied()
            .find(|&q| r.is_multiple_of(u64::from(q)))
    })
}

/// An RSA public key pgca certifies (see the module docs); `modulus` and `exponent` are the DER
/// INTEGERs' contents.
fn check_rsa(modulus: &[u8], exponent: &[u8]) -> Result<(), WeakKey> {
    if modulus.first().is_some_and(|b| b & 0x80 != 0)
        || exponent.first().is_some_and(|b| b & 0x80 != 0)
    {
        return Err(WeakKey::Unsupported);
    }
    let strip = |b: &[u8]| -> Vec<u8> { b.iter().copied().skip_while(|&x| x == 0).collect() };
    let n = strip(modulus);
    let e = strip(exponent);
    let bits = match n.first() {
        None => 0,
        Some(top) => n.len() * 8 - top.leading_zeros() as usize,
    };
    if bits < MIN_RSA_BITS {
        return Err(WeakKey::ShortModulus { bits });
    }
    if n.last().is_some_and(|b| b & 1 == 0) {
        return Err(WeakKey::EvenModulus);
    }
    if e.last().is_none_or(|b| b & 1 == 0) {
        return Err(WeakKey::EvenExponent);
    }
    if e.len() <= 8 {
        let mut buf = [0u8; 8];
        buf[8 - e.len()..].copy_from_slice(&e);
        let value = u64::from_be_bytes(buf);
        if value < MIN_RSA_EXPONENT {
            return Err(WeakKey::SmallExponent { exponent: value });
        }
    }
    if let Some(factor) = small_factor(&n) {
        return Err(WeakKey::SmallFactor { factor });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::x509::keys::PrivateKey;

    /// A point of Ed25519 in affine coordinates.
    type Point = (BigUint, BigUint);

    /// `a + b` on Ed25519 (`-x² + y² = 1 + d x² y²`): complete, so doubling too.
    fn add(a: &Point, b: &Point, e: &Edwards) -> Point {
        let p = &e.p;
        let (x1, y1) = a;
        let (x2, y2) = b;
        let t = &e.d * x1 % p * x2 % p * y1 % p * y2 % p;
        let one = BigUint::from(1u32);
        let x3 = (x1 * y2 + y1 * x2) % p * inverse(&((&one + &t) % p), p) % p;
        let y3 = (y1 * y2 + x1 * x2) % p * inverse(&sub(&one, &t, p), p) % p;
        (x3, y3)
    }

    /// The affine point with this `y` and an `x` of either sign, if there is one.
    fn point_with_y(y: &BigUint) -> Option<Point> {
        let e = &curves().ed25519;
        let p = &e.p;
        let one = BigUint::from(1u32);
        let y2 = y * y % p;
        let x2 = sub(&y2, &one, p) * inverse(&((&e.d * &y2 + &one) % p), p) % p;
        let mut x = x2.modpow(&((p + BigUint::from(3u32)) >> 3usize), p);
        if &x * &x % p != x2 {
            x = &x * &e.sqrt_m1 % p;
        }
        (&x * &x % p == x2).then_some((x, y.clone()))
    }

    fn times_8(point: &Point) -> Point {
        let e = &curves().ed25519;
        let p2 = add(point, point, e);
        let p4 = add(&p2, &p2, e);
        add(&p4, &p4, e)
    }

    /// The list of small-order y coordinates is the curve's: 8 times each such point is the
    /// identity, and 8 times a generated key's point is not.
    #[test]
    fn the_small_order_ys_are_the_curves() {
        let identity = (BigUint::from(0u32), BigUint::from(1u32));
        for y in &curves().ed25519.small_order_ys {
            let point = point_with_y(y).expect("a point");
            assert_eq!(times_8(&point), identity, "y = {y}");
        }
        let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
        let spki = key.public_key_der();
        let raw = &spki[spki.len() - 32..];
        let mut y_le: [u8; 32] = raw.try_into().unwrap();
        y_le[31] &= 0x7f;
        let y = BigUint::from_bytes_le(&y_le);
        assert!(!curves().ed25519.small_order_ys.contains(&y));
        assert_ne!(times_8(&point_with_y(&y).unwrap()), identity);
    }

    fn to32(n: &BigUint) -> [u8; 32] {
        let mut b = n.to_bytes_le();
        b.resize(32, 0);
        b.try_into().unwrap()
    }

    /// The encoding of the Ed25519 point with this `y` and the sign bit `sign`.
    fn enc(y: &BigUint, sign: bool) -> [u8; 32] {
        let mut b = to32(y);
        if sign {
            b[31] |= 0x80;
        }
        b
    }

    #[test]
    fn generated_keys_of_every_type_pass() {
        for t in KeyType::ALL {
            let key = PrivateKey::generate(t).unwrap();
            assert_eq!(check_public_key(&key.public_key_der()), Ok(t), "{t}");
        }
    }

    #[test]
    fn every_small_order_ed25519_point_is_refused_in_every_encoding() {
        let e = &curves().ed25519;
        let p = &e.p;
        let zero = BigUint::from(0u32);
        let one = BigUint::from(1u32);
        // The y coordinates of the 8 torsion points: 1 (order 1), -1 (order 2), 0 (order 4,
        // x = ±sqrt(-1)), and ±y8 (order 8, each with both signs of x).
        let y8 = BigUint::parse_bytes(
            b"2707385501144840649318225287225658788936804267575313519463743609750303402022",
            10,
        )
        .unwrap();
        let ys = [one.clone(), p - &one, zero.clone(), y8.clone(), p - &y8];
        let mut encodings = Vec::new();
        for y in &ys {
            for sign in [false, true] {
                encodings.push(enc(y, sign));
                // y + p still fits in 255 bits for y < 19: the non-canonical encodings.
                let high = y + p;
                if high.bits() <= 255 {
                    encodings.push(enc(&high, sign));
                }
            }
        }
        // The identity, the key of the forgery: 0x01 followed by 31 zero bytes.
        let mut identity = [0u8; 32];
        identity[0] = 1;
        assert!(encodings.contains(&identity));
        assert!(encodings.len() >= 14, "{}", encodings.len());
        for b in &encodings {
            let got = check_ed25519(b);
            assert!(
                got == Err(WeakKey::SmallOrder) || got == Err(WeakKey::NonCanonical),
                "{b:02x?}: {got:?}"
            );
        }
        for y in &ys {
            assert_eq!(
                check_ed25519(&enc(y, false)),
                Err(WeakKey::SmallOrder),
                "{y}"
            );
        }
        // The order-8 point really has order 8: [4]P is not the identity.
        let x2 =
            sub(&(&y8 * &y8 % p), &one, p) * inverse(&((&e.d * &y8 % p * &y8 + &one) % p), p) % p;
        let mut x = x2.modpow(&((p + BigUint::from(3u32)) >> 3usize), p);
        if &x * &x % p != x2 {
            x = &x * &e.sqrt_m1 % p;
        }
        assert_eq!(&x * &x % p, x2, "y8 is on the curve");
        let pt = (x, y8);
        let p4 = add(&add(&pt, &pt, e), &add(&pt, &pt, e), e);
        assert_ne!(p4, (zero, one));
    }

    #[test]
    fn non_canonical_and_off_curve_ed25519_keys_are_refused() {
        let e = &curves().ed25519;
        let p = &e.p;
        for _ in 0..8 {
            let key = PrivateKey::generate(KeyType::Ed25519).unwrap();
            let spki = key.public_key_der();
            assert_eq!(check_ed25519(&spki[spki.len() - 32..]), Ok(()));
        }
        let mut found = false;
        // y + p fits in 255 bits only for y < 19: every such y, on the curve or not, is
        // refused in its high encoding as non-canonical.
        for small in 2u32..19 {
            let y = BigUint::from(small);
            let canonical = enc(&y, false);
            let high = enc(&(&y + p), false);
            match check_ed25519(&canonical) {
                Ok(()) => {
                    found = true;
                    assert_eq!(
                        check_ed25519(&high),
                        Err(WeakKey::NonCanonical),
                        "y {small}"
                    );
                }
                Err(WeakKey::NotOnCurve { .. }) => {
                    assert_eq!(
                        check_ed25519(&high),
                        Err(WeakKey::NonCanonical),
                        "y {small}"
                    );
                }
                Err(other) => panic!("y {small}: {other:?}"),
            }
        }
        assert!(found, "some y below 19 is a point of large order");
        // Off the curve: some y has no x (about half do).
        let off = (2u32..100)
            .map(|y| enc(&BigUint::from(y), false))
            .find(|b| check_ed25519(b).is_err())
            .unwrap();
        assert_eq!(
            check_ed25519(&off),
            Err(WeakKey::NotOnCurve { curve: "Ed25519" })
        );
        assert_eq!(
            check_ed25519(&[1u8; 31]),
            Err(WeakKey::NotOnCurve { curve: "Ed25519" })
        );
    }

    /// `key`'s SPKI with its last `n` bytes (the point) replaced by `point`.
    fn with_point(key: &PrivateKey, point: &[u8]) -> Vec<u8> {
        let spki = key.public_key_der();
        let n = point.len();
        let mut out = spki[..spki.len() - n].to_vec();
        out.extend_from_slice(point);
        out
    }

    #[test]
    fn ec_points_off_the_curve_at_infinity_or_compressed_are_refused() {
        for (t, len, curve) in [
            (KeyType::EcdsaP256, 32, "ECDSA P-256"),
            (KeyType::EcdsaP384, 48, "ECDSA P-384"),
        ] {
            let key = PrivateKey::generate(t).unwrap();
            let spki = key.public_key_der();
            let point = spki[spki.len() - (1 + 2 * len)..].to_vec();
            assert_eq!(point[0], 4);
            assert_eq!(check_public_key(&with_point(&key, &point)), Ok(t));
            // y + 1: off the curve.
            let mut off = point.clone();
            let last = off.len() - 1;
            off[last] ^= 1;
            assert_eq!(
                check_public_key(&with_point(&key, &off)),
                Err(WeakKey::NotOnCurve { curve }),
                "{t}"
            );
            // Coordinates of all ones: at least p.
            let big = [vec![4u8], vec![0xff; 2 * len]].concat();
            assert_eq!(
                check_ec_point(&big, curve_of(t)),
                Err(WeakKey::NotOnCurve { curve })
            );
            // (0, 0) is not on either curve (b ≠ 0).
            let zero = [vec![4u8], vec![0; 2 * len]].concat();
            assert_eq!(
                check_ec_point(&zero, curve_of(t)),
                Err(WeakKey::NotOnCurve { curve })
            );
            assert_eq!(
                check_ec_point(&[0], curve_of(t)),
                Err(WeakKey::Infinity { curve })
            );
            assert_eq!(
                check_ec_point(&[], curve_of(t)),
                Err(WeakKey::Infinity { curve })
            );
            let compressed = [&[2u8][..], &point[1..=len]].concat();
            assert_eq!(
                check_ec_point(&compressed, curve_of(t)),
                Err(WeakKey::Compressed { curve })
            );
            assert_eq!(
                check_ec_point(&point[..point.len() - 1], curve_of(t)),
                Err(WeakKey::NotOnCurve { curve })
            );
        }
    }

    fn curve_of(t: KeyType) -> &'static Curve {
        match t {
            KeyType::EcdsaP256 => &curves().p256,
            _ => &curves().p384,
        }
    }

    /// The modulus and exponent of a fresh RSA-2048 key (big-endian, no sign byte).
    fn rsa_parts() -> (Vec<u8>, Vec<u8>) {
        let key = PrivateKey::generate(KeyType::Rsa2048).unwrap();
        let spki = key.public_key_der();
        let (_, info) = SubjectPublicKeyInfo::from_der(&spki).unwrap();
        let Ok(PublicKey::RSA(rsa)) = info.parsed() else {
            panic!("not RSA")
        };
        let strip = |b: &[u8]| {
            b.iter()
                .copied()
                .skip_while(|&x| x == 0)
                .collect::<Vec<u8>>()
        };
        (strip(rsa.modulus), strip(rsa.exponent))
    }

    #[test]
    fn weak_rsa_keys_are_refused() {
        let (n, e) = rsa_parts();
        let with_sign = |b: &[u8]| [&[0u8][..], b].concat();
        assert_eq!(check_rsa(&with_sign(&n), &e), Ok(()));
        // Even modulus.
        let mut even = n.clone();
        *even.last_mut().unwrap() &= 0xfe;
        assert_eq!(check_rsa(&with_sign(&even), &e), Err(WeakKey::EvenModulus));
        // Small or even exponents.
        for (exp, want) in [
            (vec![3u8], Err(WeakKey::SmallExponent { exponent: 3 })),
            (vec![1u8], Err(WeakKey::SmallExponent { exponent: 1 })),
            (
                vec![0x00, 0xff, 0xff],
                Err(WeakKey::SmallExponent { exponent: 65535 }),
            ),
            (vec![0x01, 0x00, 0x00], Err(WeakKey::EvenExponent)),
            (vec![], Err(WeakKey::EvenExponent)),
            (vec![0x01, 0x00, 0x01], Ok(())),
            (vec![0x01, 0x00, 0x03], Ok(())),
            (vec![0x7f; 9], Ok(())),
        ] {
            assert_eq!(check_rsa(&with_sign(&n), &exp), want, "{exp:02x?}");
        }
        // A modulus with a small factor: the largest prime below 2^16, and 3, times the
        // modulus of a real key (whose own factors are large), cut to keep the product odd.
        for q in [3u32, 65521] {
            let product = BigUint::from_bytes_be(&n) * BigUint::from(q);
            let bytes = product.to_bytes_be();
            assert!(bits_of(&bytes) >= 2048);
            assert_eq!(
                check_rsa(&with_sign(&bytes), &e),
                Err(WeakKey::SmallFactor { factor: q })
            );
        }
        // Short, and negative.
        assert_eq!(
            check_rsa(&with_sign(&n[..128]), &e),
            Err(WeakKey::ShortModulus {
                bits: bits_of(&n[..128])
            })
        );
        assert_eq!(check_rsa(&n, &e), Err(WeakKey::Unsupported));
    }

    fn bits_of(b: &[u8]) -> usize {
        BigUint::from_bytes_be(b).bits()
    }

    #[test]
    fn trial_division_knows_the_primes_below_2_16() {
        let primes = small_primes();
        assert_eq!(primes.len(), 6542 - 1, "π(2^16) = 6542, without 2");
        assert_eq!((primes[0], *primes.last().unwrap()), (3, 65521));
        assert_eq!(
            rem_small_ref(&[0x01, 0x00, 0x00, 0x00, 0x00, 0x07], 65521),
            ((1u64 << 40) + 7) % 65521
        );
        // The groups hold every prime once, in order, each product within 64 bits.
        let grouped: Vec<u32> = prime_groups().iter().flat_map(|g| g.1.clone()).collect();
        assert_eq!(grouped, primes);
        for (product, members) in prime_groups() {
            assert_eq!(
                members.iter().map(|&q| u128::from(q)).product::<u128>(),
                u128::from(*product)
            );
        }
        // The grouped remainder agrees with one prime at a time, on moduli of every length.
        let n: Vec<u8> = (0..300u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect();
        for len in [1, 7, 8, 9, 63, 256, 300] {
            let n = &n[..len];
            let slow = primes.iter().copied().find(|&q| rem_small_ref(n, q) == 0);
            assert_eq!(small_factor(n), slow, "length {len}");
        }
        assert_eq!(small_factor(&(3u64 * 65521 * 65519).to_be_bytes()), Some(3));
        assert_eq!(small_factor(&(65521u64 * 65519).to_be_bytes()), Some(65519));
    }

    /// `n mod m`, a byte at a time: what the grouped division must agree with.
    fn rem_small_ref(n: &[u8], m: u32) -> u64 {
        n.iter()
            .fold(0u64, |r, &b| ((r << 8) | u64::from(b)) % u64::from(m))
    }

    #[test]
    fn unreadable_keys_are_refused() {
        assert_eq!(check_public_key(b"hello"), Err(WeakKey::Unsupported));
        assert_eq!(check_public_key(&[]), Err(WeakKey::Unsupported));
    }
}
