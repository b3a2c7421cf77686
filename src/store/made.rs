//! A CA as made, before it is written: by `init` (roots and intermediates) and by a rollover's
//! start.

/// A validity period: not before, not after.
pub(crate) type Span = (time::OffsetDateTime, time::OffsetDateTime);

/// One CA as made: the name of its key's file and that file's text (a key PEM, or the URI
/// naming the key in its token), its certificate and serial.
pub(crate) struct Made {
    pub(crate) side: crate::model::kind::Side,
    pub(crate) key_name: &'static str,
    pub(crate) key_text: zeroize::Zeroizing<String>,
    pub(crate) cert_pem: String,
    pub(crate) serial: crate::model::serial::Serial,
}

impl Made {
    /// Writes its key file (or token reference) as `dir/key_name`, 0600 from the first byte, then
    /// its certificate as `dir/cert_name`: both new files, never over an existing one.
    pub(crate) fn write_new(
        &self,
        dir: &std::path::Path,
        cert_name: &str,
    ) -> crate::error::Result<()> {
        crate::storage::create_file(
            &dir.join(self.key_name),
            self.key_text.as_bytes(),
            crate::storage::KEY_MODE,
            "write CA key",
        )?;
        crate::storage::create_file(
            &dir.join(cert_name),
            self.cert_pem.as_bytes(),
            crate::storage::PUBLIC_MODE,
            "write CA certificate",
        )
    }
}
