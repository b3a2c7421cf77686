//! A PKCS#12 (RFC 7292) encoder: one private key, its certificate and the CA chain, in the
//! algorithms OpenSSL 3 writes by default and Java 17+ (keytool, pgjdbc) and .NET read.
//!
//! - The key: a `pkcs8ShroudedKeyBag`, PBES2 with PBKDF2-HMAC-SHA256 and AES-256-CBC (RFC 8018),
//!   [`ITERATIONS`] rounds, a fresh 16-byte salt and IV.
//! - The certificates: `certBag`s in a plain `data` content. They are public; OpenSSL 3 encrypts
//!   them too by default, but every reader accepts them plain, and a keystore then lists the
//!   chain without a password.
//! - Integrity: HMAC-SHA256 over the authenticated safe, its key from the PKCS#12 KDF
//!   (RFC 7292 appendix B.2, the password as a NUL-terminated BMPString), [`ITERATIONS`] rounds.
//!
//! The legacy defaults (RC2-40 / 3DES with SHA-1, OpenSSL 1.1's) are not written: OpenSSL 3
//! needs its legacy provider to read them, and they are weak. PBES2/AES and a SHA-256 MAC have
//! been read by Java since 8u301/11.0.12 and by .NET Core 3.0+.
//!
//! The key bag and the leaf's certificate bag carry `friendlyName` and the same `localKeyId`
//! (the SHA-256 of the leaf's DER), so that Java's keystore pairs them into a
//! `PrivateKeyEntry` named by the friendly name; the CA certificates are its chain.

use pkcs8::der::asn1::ObjectIdentifier;
use pkcs8::der::{Decode, Encode, Header, Length, Tag, TagNumber};
use ring::rand::SecureRandom;
use zeroize::Zeroizing;

use crate::error::{Error, Result};
use crate::model::passphrase::Passphrase;

/// PBKDF2 and MAC iterations: OpenSSL 3's default (`PKCS12_DEFAULT_ITER`).
pub const ITERATIONS: u32 = 2048;

const ID_DATA: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.7.1");
const SHROUDED_KEY_BAG: ObjectIdentifier =
    ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.2");
const CERT_BAG: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.12.10.1.3");
const X509_CERTIFICATE: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.22.1");
const FRIENDLY_NAME: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.20");
const LOCAL_KEY_ID: ObjectIdentifier = ObjectIdentifier::new_unwrap("1.2.840.113549.1.9.21");
const SHA256: ObjectIdentifier = ObjectIdentifier::new_unwrap("2.16.840.1.101.3.4.2.1");

/// What goes into a PKCS#12 file.
pub struct Pkcs12Input<'a> {
    /// The unencrypted PKCS#8 DER key.
    pub key_pkcs8: &'a [u8],
    /// The key's certificate (DER).
    pub cert_der: &'a [u8],
    /// The CA certificates (DER), issuer first.
    pub chain: &'a [Vec<u8>],
    /// The entry's name (`friendlyName`, keytool's alias).
    pub friendly_name: &'a str,
}

fn crypto<E: Into<Box<dyn std::error::Error + Send + Sync>>>(e: E) -> Error {
    Error::Crypto {
        what: "writing the PKCS#12 file",
        source: e.into(),
    }
}

/// A DER TLV: `tag` (a universal or a constructed context tag) around `content`.
fn tlv(tag: Tag, content: &[u8]) -> Result<Vec<u8>> {
    let len = Length::try_from(content.len()).map_err(crypto)?;
    let mut out = Header::new(tag, len)
        .map_err(crypto)?
        .to_der()
        .map_err(crypto)?;
    out.extend_from_slice(content);
    Ok(out)
}

fn seq(parts: &[&[u8]]) -> Result<Vec<u8>> {
    tlv(Tag::Sequence, &parts.concat())
}

/// A SET OF in DER order (elements sorted by their encoding).
fn set_of(mut parts: Vec<Vec<u8>>) -> Result<Vec<u8>> {
    parts.sort();
    tlv(Tag::Set, &parts.concat())
}

/// `[0] EXPLICIT`.
fn explicit0(content: &[u8]) -> Result<Vec<u8>> {
    tlv(
        Tag::ContextSpecific {
            constructed: true,
            number: TagNumber::N0,
        },
        content,
    )
}

fn oid(o: &ObjectIdentifier) -> Result<Vec<u8>> {
    o.to_der().map_err(crypto)
}

fn octets(b: &[u8]) -> Result<Vec<u8>> {
    tlv(Tag::OctetString, b)
}

/// A `ContentInfo` of type `data` holding `inner`.
fn data_content(inner: &[u8]) -> Result<Vec<u8>> {
    seq(&[&oid(&ID_DATA)?, &explicit0(&octets(inner)?)?])
}

/// The entry name pgjdbc looks up in a PKCS#12 `sslkey` (its `PKCS12KeyManager` asks the key store
/// for alias `user`): every `.p12` pgca writes uses it, so pgjdbc reads them as they are.
pub(crate) const PGJDBC_ALIAS: &str = "user";

/// The bag attributes: `friendlyName` and `localKeyId`.
fn attributes(friendly_name: &str, local_key_id: &[u8]) -> Result<Vec<u8>> {
    let bmp: Vec<u8> = friendly_name
        .encode_utf16()
        .flat_map(u16::to_be_bytes)
        .collect();
    let name = seq(&[
        &oid(&FRIENDLY_NAME)?,
        &set_of(vec![tlv(Tag::BmpString, &bmp)?])?,
    ])?;
    let id = seq(&[&oid(&LOCAL_KEY_ID)?, &set_of(vec![octets(local_key_id)?])?])?;
    set_of(vec![name, id])
}

fn random<const N: usize>() -> Result<[u8; N]> {
    let mut b = [0u8; N];
    ring::rand::SystemRandom::new()
        .fill(&mut b)
        .map_err(|_| crypto("no random source"))?;
    Ok(b)
}

/// The PKCS#12 file (DER) for `input`, protected by `password`.
pub fn encode(input: &Pkcs12Input<'_>, password: &Passphrase) -> Result<Zeroizing<Vec<u8>>> {
    use pkcs8::pkcs5::pbes2;
    let local_key_id = ring::digest::digest(&ring::digest::SHA256, input.cert_der);
    let attrs = attributes(input.friendly_name, local_key_id.as_ref())?;

    // The key bag: EncryptedPrivateKeyInfo, PBES2 (PBKDF2-HMAC-SHA256, AES-256-CBC).
    let info = pkcs8::PrivateKeyInfo::from_der(input.key_pkcs8).map_err(crypto)?;
    let (salt, iv) = (random::<16>()?, random::<16>()?);
    let params = pbes2::Parameters::pbkdf2_sha256_aes256cbc(ITERATIONS, &salt, &iv)
        .map_err(|e| crypto(e.to_string()))?;
    let shrouded = info
        .encrypt_with_params(params, password.as_bytes())
        .map_err(crypto)?;
    let key_bag = seq(&[
        &oid(&SHROUDED_KEY_BAG)?,
        &explicit0(shrouded.as_bytes())?,
        &attrs,
    ])?;

    // The certificate bags: the leaf with the key's attributes, then the chain.
    let cert_bag = |der: &[u8], attrs: Option<&[u8]>| -> Result<Vec<u8>> {
        let value = seq(&[&oid(&X509_CERTIFICATE)?, &explicit0(&octets(der)?)?])?;
        seq(&[
            &oid(&CERT_BAG)?,
            &explicit0(&value)?,
            attrs.unwrap_or_default(),
        ])
    };
    let mut cert_bags = vec![cert_bag(input.cert_der, Some(&attrs))?];
    for ca in input.chain {
        cert_bags.push(cert_bag(ca, None)?);
    }
    let certs = seq(&cert_bags.iter().map(Vec::as_slice).collect::<Vec<_>>())?;
    let keys = Zeroizing::new(seq(&[&key_bag])?);

    let auth_safe = seq(&[&data_content(&certs)?, &data_content(&keys)?])?;

    // The MAC over the authenticated safe's content.
    let mac_salt = random::<32>()?;
    let text = std::str::from_utf8(password.as_bytes()).map_err(crypto)?;
    let mac_key = pkcs12_kdf(text, &mac_salt, 3, ITERATIONS, 32);
    let key = ring::hmac::Key::new(ring::hmac::HMAC_SHA256, &mac_key);
    let tag = ring::hmac::sign(&key, &auth_safe);
    let null = [0x05u8, 0x00];
    let digest_info = seq(&[&seq(&[&oid(&SHA256)?, &null])?, &octets(tag.as_ref())?])?;
    let iterations = ITERATIONS.to_der().map_err(crypto)?;
    let mac_data = seq(&[&digest_info, &octets(&mac_salt)?, &iterations])?;

    let version = 3u8.to_der().map_err(crypto)?;
    Ok(Zeroizing::new(seq(&[
        &version,
        &data_content(&auth_safe)?,
        &mac_data,
    ])?))
}

/// The PKCS#12 key derivation (RFC 7292 appendix B.2) with SHA-256 (u = 32, v = 64): `n` bytes
/// of key material of purpose `id` (1 encryption key, 2 IV, 3 MAC key) from `password` as a
/// NUL-terminated BMPString.
pub fn pkcs12_kdf(
    password: &str,
    salt: &[u8],
    id: u8,
    rounds: u32,
    n: usize,
) -> Zeroizing<Vec<u8>> {
    const U: usize = 32;
    const V: usize = 64;
    let mut pass = Zeroizing::new(Vec::new());
    pass.extend(password.encode_utf16().flat_map(u16::to_be_bytes));
    pass.extend([0, 0]);
    let fill = |src: &[u8]| -> Vec<u8> {
        if src.is_empty() {
            return Vec::new();
        }
        let len = V * src.len().div_ceil(V);
        src.iter().copied().cycle().take(len).collect()
    };
    let mut i = Zeroizing::new(fill(salt));
    i.extend_from_slice(&fill(&pass));
    let d = [id; V];
    let mut out = Zeroizing::new(Vec::with_capacity(n + U));
    while out.len() < n {
        let mut ctx = ring::digest::Context::new(&ring::digest::SHA256);
        ctx.update(&d);
        ctx.update(&i);
        let mut a = ctx.finish();
        for _ in 1..rounds {
            a = ring::digest::digest(&ring::digest::SHA256, a.as_ref());
        }
        out.extend_from_slice(a.as_ref());
        if out.len() >= n {
            break;
        }
        // I_j = (I_j + B + 1) mod 2^(8v), B being A repeated to v bytes.
        let b = fill(a.as_ref());
        for block in i.chunks_mut(V) {
            let mut carry = 1u16;
            for k in (0..V).rev() {
                let sum = u16::from(block[k]) + u16::from(b[k]) + carry;
                block[k] = sum as u8;
                carry = sum >> 8;
            }
        }
    }
    out.truncate(n);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(b: &[u8]) -> String {
        b.iter().map(|x| format!("{x:02x}")).collect()
    }

    #[test]
    fn kdf_matches_openssl() {
        // `openssl kdf -keylen N -kdfopt digest:SHA256 -kdfopt hexpass:<BMPString of
        // "password", NUL-terminated> -kdfopt hexsalt:0102030405060708 -kdfopt iter:R
        // -kdfopt id:I PKCS12KDF`.
        let salt = [1, 2, 3, 4, 5, 6, 7, 8];
        assert_eq!(
            hex(&pkcs12_kdf("password", &salt, 3, 2048, 32)),
            "4f510e1b5428cb3a1b784ceee7b1a95670f60e825199c121bd1752ee9e1c83f2"
        );
        // More than one block (n > u): the I update between blocks.
        assert_eq!(
            hex(&pkcs12_kdf("password", &salt, 1, 3, 80)),
            "95f3f3e827cd66c55915111e9ae5e8af29f6657199e6c53603197307601\
             63bf4fbec5a1681398d4d0cde472dcb260af1aa9bbb0d343b219aaaf1ff92155961662e45b54dfe2cf7019d62ecc90ee65dcc"
        );
    }
}
