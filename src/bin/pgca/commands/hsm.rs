//! CA keys in a PKCS#11 token: `init --pkcs11-token` turned into the library's token URI, and
//! the PIN found like the CA passphrase.

use pgca::x509::token_uri::TokenUri;
use pgca::{Error, Passphrase, Result, Side};

use crate::args::Pkcs11Args;
use crate::passphrase::Sources;

/// The token `init` generates the CA keys in: `--pkcs11-token` (a label or a `pkcs11:` URI)
/// with `--pkcs11-module` (which overrides the URI's `module-path`); `None` for key files.
pub fn token(a: &Pkcs11Args) -> Result<Option<TokenUri>> {
    let Some(given) = &a.pkcs11_token else {
        return Ok(None);
    };
    let mut uri = if given.starts_with("pkcs11:") {
        given.parse::<TokenUri>()?
    } else {
        let mut uri = TokenUri::default();
        uri.token = given.clone();
        uri
    };
    if let Some(m) = &a.pkcs11_module {
        uri.module = Some(m.clone());
    }
    if uri.module.is_none() {
        return Err(Error::BadPkcs11Uri {
            input: given.clone(),
            reason: "no module-path (the PKCS#11 module to load)",
        });
    }
    Ok(Some(uri))
}

/// The token's user PIN: `--passphrase-file`, `$PGCA_PASSPHRASE_FILE`, `$PGCA_PASSPHRASE` or a
/// prompt that does not echo.
pub fn pin(sources: &Sources, token: &str) -> Result<Passphrase> {
    sources
        .get(&format!("user PIN for pkcs11 token \"{token}\""), false)?
        .ok_or_else(|| Error::NeedPin {
            token: token.to_string(),
        })
}

/// Whether the key `encrypted_key_among` named is a token's reference (`*-ca.pkcs11`).
pub fn is_reference(path: &std::path::Path) -> bool {
    Side::BOTH
        .iter()
        .any(|s| path.file_name() == Some(std::ffi::OsStr::new(s.ca_token_file())))
}
