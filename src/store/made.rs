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
