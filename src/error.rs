//! The one error type of the crate.
//!
//! Every message is a single lowercase line that names the path or value at fault, so that the
//! command line tool can print it as it is (`pgca: <message>`) and cron mail stays readable.
//! A message says what is wrong, never what to type about it: advice that names a flag or a
//! command (`--force`, `pgca init`) is the binary's, which adds it as a hint.
//! The underlying cause is kept in [`std::error::Error::source`].

use std::fmt;
use std::io;
use std::path::{Path, PathBuf};

use time::OffsetDateTime;

use crate::model::kind::CertKind;
use crate::model::text::{escape, quoted};
use crate::model::timefmt::human;

/// A specialised `Result` for pgca.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in pgca.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A file or directory could not be read, written, renamed or locked.
    #[error("cannot {action} {}: {}", path.display(), io_reason(source))]
    Io {
        /// What was being done, e.g. `read CA key`.
        action: &'static str,
        /// The file or directory.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: io::Error,
    },

    /// A path another user controls, where pgca would write (or read what it trusts): see
    /// the storage module's rules.
    #[error("refusing {}: {why}", path.display())]
    Untrusted {
        /// The component at fault.
        path: PathBuf,
        /// What another user could do with it.
        why: Distrust,
    },

    /// A file pgca appends to (`serve --log`) that another user could swap or read into: not
    /// a regular file, owned by another user, with other hard links, or writable by group or
    /// others.
    #[error("refusing {}: {reason}", path.display())]
    UnsafeOutput {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A lock held by another process for longer than the wait.
    #[error("{} is held by another pgca process: gave up after {}", path.display(), humantime(*waited))]
    LockTimeout {
        /// The lock file or directory.
        path: PathBuf,
        /// How long pgca waited.
        waited: std::time::Duration,
    },

    /// A file that should hold what the inventory recorded holds something else.
    #[error("{} is not the certificate the inventory records for {kind} {} (serial {expected}): {found}", path.display(), escape(name))]
    NotRecorded {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
        /// The file.
        path: PathBuf,
        /// The serial the inventory records.
        expected: crate::model::serial::Serial,
        /// What the file holds instead.
        found: String,
    },

    /// A name whose current certificate is revoked: nothing renews, installs or deploys it.
    #[error("{kind} {}'s certificate (serial {serial}) is revoked", escape(name))]
    Revoked {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
        /// The revoked serial.
        serial: crate::model::serial::Serial,
    },

    /// A name whose current certificate has expired: nothing exports it.
    #[error("{kind} {}'s certificate (serial {serial}) expired {}", escape(name), human(*not_after))]
    Expired {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
        /// The expired serial.
        serial: crate::model::serial::Serial,
        /// When it expired.
        not_after: OffsetDateTime,
    },

    /// An export format that needs the plain key, asked of an encrypted one.
    #[error("{} is encrypted, and {format} needs the key in the clear", path.display())]
    EncryptedExport {
        /// The key file.
        path: PathBuf,
        /// The format (`p12`, `k8s`, `cnpg`).
        format: &'static str,
    },

    /// A PKCS#12 export without a password (no file given, and no terminal to ask on).
    #[error("no password for the PKCS#12 file")]
    NoExportPassword,

    /// A key whose certificate was revoked, offered for certification again.
    #[error(
        "the key of {kind} {} was certified by a revoked certificate (serial {serial}): it is never certified again",
        escape(name)
    )]
    RevokedKey {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
        /// The revoked certificate that certified it.
        serial: crate::model::serial::Serial,
    },

    /// A CA key file others can read, or a CA directory others can write: pgca does not sign.
    #[error("refusing to sign with {}: {reason}", path.display())]
    UnsafeCaKey {
        /// The key file or directory.
        path: PathBuf,
        /// What is wrong.
        reason: UnsafeKey,
    },

    /// A value that cannot be written into a configuration file as it is.
    #[error("invalid {what} {}: {reason}", shown(&Some(value.clone())))]
    InvalidValue {
        /// What the value is for.
        what: &'static str,
        /// The value.
        value: String,
        /// Why.
        reason: &'static str,
    },

    /// Neither `--dir`, `PGCA_DIR` nor `HOME` says where the CA directory is.
    #[error("no CA directory given")]
    NoDirectory,

    /// The directory holds no CA yet.
    #[error("no CA in {}", .0.display())]
    NoCa(PathBuf),

    /// `init` was asked to create a CA where one exists already.
    #[error("{} already holds a CA", .0.display())]
    CaExists(PathBuf),

    /// The directory holds CA files but no inventory: an interrupted `init`, or foreign files.
    #[error(
        "{} holds {} but no inventory",
        dir.display(), found.display()
    )]
    PartialCa {
        /// The CA directory.
        dir: PathBuf,
        /// The file found.
        found: PathBuf,
    },

    /// A required CA file is missing from an initialised directory.
    #[error("CA file {} is missing: the CA directory is incomplete", .0.display())]
    MissingCaFile(PathBuf),

    /// A role name PostgreSQL would not accept, or pgca cannot store.
    #[error("invalid role name {}: {reason}", quoted(name))]
    InvalidRole {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A role name PostgreSQL accepts but libpq, shells or a reader mishandle (a leading `-`,
    /// `=`, quotes, a backslash, an invisible character, whitespace other than a space):
    /// issued only when asked for explicitly ([`crate::RoleName::parse_unusual`]).
    #[error("unusual role name {}: {reason}", quoted(name))]
    UnusualRole {
        /// The name as given.
        name: String,
        /// What is unusual about it.
        reason: &'static str,
    },

    /// A server name that is neither a valid DNS name nor an IP address, or one no server
    /// certificate should name (the unspecified or broadcast address, a wildcard directly under
    /// a public suffix).
    #[error("invalid host name {}: {reason}", quoted(name))]
    InvalidHost {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A duration such as `90d` that could not be parsed or is out of range.
    #[error("invalid duration {input:?}: {reason}")]
    InvalidDuration {
        /// The text as given.
        input: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// A key type name pgca does not know.
    #[error(
        "unknown key type {0:?}: expected one of ecdsa-p256, ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096"
    )]
    UnknownKeyType(String),

    /// An invalid organisation name for the CA subjects.
    #[error("invalid organisation name {name:?}: {reason}")]
    InvalidOrg {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: &'static str,
    },

    /// The same name was given twice in one call.
    #[error("{} is given twice", quoted(.0))]
    DuplicateName(String),

    /// A certificate of that name exists and `--force` was not given.
    #[error("{} already exists", .0.display())]
    CertExists(PathBuf),

    /// A certificate that should exist has not been issued.
    #[error("no {} certificate for {} in {}", kind.map_or("server or client", CertKind::name), quoted(name), dir.display())]
    NotIssued {
        /// Server or client; `None` when either would do (`renew NAME`).
        kind: Option<CertKind>,
        /// The name or role.
        name: String,
        /// The CA directory.
        dir: PathBuf,
    },

    /// A client's files have nowhere to go: the user has no home directory (or, for the user pgca
    /// runs as, `HOME` is not set).
    #[error("no home directory to install into{}", match .0 { Some(u) => format!(" for user {u:?}"), None => " (HOME is not set)".to_string() })]
    NoHome(Option<String>),

    /// A directory that should be a PostgreSQL data directory is not one.
    #[error("{} is not a PostgreSQL data directory (no PG_VERSION file)", .0.display())]
    NotADataDir(PathBuf),

    /// A data directory owned by another user than the one recorded when it was first deployed
    /// to.
    #[error("{} is owned by {found}{}", path.display(), match expected { Some(e) => format!(", not {e}, who owned it when pgca first deployed there"), None => String::new() })]
    DataDirOwner {
        /// The data directory.
        path: PathBuf,
        /// Its owner now.
        found: String,
        /// The owner recorded, if any.
        expected: Option<String>,
    },

    /// A user name that the system does not know.
    #[error("unknown user {0:?}")]
    UnknownUser(String),

    /// A revocation reason pgca does not know.
    #[error(
        "unknown revocation reason {0:?}: expected one of unspecified, keyCompromise, cACompromise, affiliationChanged, superseded, cessationOfOperation, privilegeWithdrawn"
    )]
    UnknownReason(String),

    /// An attempt to revoke one of the CAs.
    #[error("{0} cannot be revoked: a CA is not listed in its own CRL")]
    RevokeCa(&'static str),

    /// No certificate has that name or serial.
    #[error("no certificate named {} in {}{}", quoted(target), dir.display(), if *serial_like { " (and no certificate with that serial)" } else { ", and it is not a serial (hex digits, optionally separated by ':')" })]
    NotFound {
        /// The name or serial given.
        target: String,
        /// The CA directory.
        dir: PathBuf,
        /// Whether it looked like a serial.
        serial_like: bool,
    },

    /// A name that is both a server and a client certificate.
    #[error("{} names both a server and a client certificate", quoted(.0))]
    Ambiguous(String),

    /// A CRL that is asked for but has not been written yet.
    #[error("{} does not exist yet", .0.display())]
    NoCrl(PathBuf),

    /// The passphrase does not decrypt the key.
    #[error("wrong passphrase for {}", .0.display())]
    WrongPassphrase(PathBuf),

    /// A CA key is encrypted and no passphrase was given.
    #[error("{} is encrypted", .0.display())]
    NeedPassphrase(PathBuf),

    /// A passphrase source that gives no usable passphrase.
    #[error("unusable passphrase from {from}: {reason}")]
    BadPassphrase {
        /// The file, variable or prompt.
        from: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// `init` encrypts the CA keys and found no passphrase.
    #[error("no passphrase for the new CA keys")]
    NoPassphraseForInit,

    /// A client key that is encrypted, renewed without its passphrase.
    #[error("{0}'s key is encrypted")]
    NeedKeyPassphrase(String),

    /// A TCP port that is not a number from 1 to 65535.
    #[error("invalid port {0:?}: expected a number from 1 to 65535")]
    InvalidPort(String),

    /// An address to listen on or connect to that is not `ADDR:PORT` or `https://HOST:PORT`.
    #[error("invalid address {input:?}: {reason}")]
    InvalidAddress {
        /// As given.
        input: String,
        /// What form was expected.
        reason: &'static str,
    },

    /// A path libpq would misread.
    #[error("cannot use {} for libpq: {reason}", path.display())]
    UnsafePath {
        /// The path.
        path: PathBuf,
        /// How libpq would misread it.
        reason: &'static str,
    },

    /// A private key file could not be parsed.
    #[error("cannot use key {}: {reason}", path.display())]
    BadKey {
        /// The key file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A certificate file could not be parsed.
    #[error("cannot use certificate {}: {reason}", path.display())]
    BadCert {
        /// The certificate file.
        path: PathBuf,
        /// What is wrong with it.
        reason: Malformed,
    },

    /// A private key does not belong to the certificate next to it.
    #[error("key {} does not match certificate {}", key.display(), cert.display())]
    KeyMismatch {
        /// The key file.
        key: PathBuf,
        /// The certificate file.
        cert: PathBuf,
    },

    /// A certificate signing request (`pgca sign FILE`) that cannot be used: not PEM or DER, not
    /// PKCS#10, a signature that does not verify, a key type pgca does not issue for, no name.
    #[error("cannot use certificate request {}: {reason}", path.display())]
    BadCsr {
        /// The request file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A public key pgca did not generate (a request's, or an external key's certified again at
    /// renewal) that it refuses to certify: one anyone could sign for (an Ed25519 point of small
    /// order), one encoded ambiguously, an EC point off its curve, or a weak RSA key. Nothing is
    /// signed or written.
    #[error("refused {origin}: {reason}")]
    RefusedKey {
        /// Whose key it is.
        origin: KeyOrigin,
        /// What is wrong with it.
        reason: WeakKey,
    },

    /// An external key (`pgca sign`) older than the policy allows (`--max-key-age`): renewal
    /// only re-signs a public key, so the host must make a new key and request.
    #[error("{kind} {} needs a new CSR: its key was first certified {}, longer ago than the maximum key age {max}", escape(name), human(*since))]
    NeedsNewCsr {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
        /// When its public key was first certified.
        since: time::OffsetDateTime,
        /// The maximum key age, as given (`400d`).
        max: String,
    },

    /// A certificate whose key was made elsewhere (`pgca sign`): the CA directory holds no private
    /// key for it, so nothing that needs one (deploy, install, PKCS#12, a login probe) can use it.
    #[error(
        "{kind} {} has an external key: the CA directory holds no private key for it",
        escape(name)
    )]
    ExternalKey {
        /// Server or client.
        kind: crate::model::kind::CertKind,
        /// The name.
        name: String,
    },

    /// A leaf would be valid longer than the CA that signs it.
    #[error(
        "the certificate would expire {}, after the {ca} CA does ({})",
        human(*not_after), human(*ca_not_after)
    )]
    OutlivesCa {
        /// Which CA (`server` or `client`).
        ca: &'static str,
        /// When the requested certificate would expire.
        not_after: OffsetDateTime,
        /// When the CA expires.
        ca_not_after: OffsetDateTime,
    },

    /// `init`'s server certificate would be valid longer than the CAs it creates. Each lifetime
    /// says whether it was asked for or is the default, so that a message about a value nobody
    /// typed names it as the default.
    #[error(
        "the server certificate's validity ({}) would outlive the CAs ({})",
        lifetime(server, *server_default),
        lifetime(ca, *ca_default)
    )]
    ServerOutlivesCas {
        /// The server certificate's lifetime, as pgca writes durations (`1y`).
        server: String,
        /// Whether it is the default ([`crate::store::DEFAULT_LEAF_VALIDITY`]), not asked for.
        server_default: bool,
        /// The CAs' lifetime.
        ca: String,
        /// Whether it is the default ([`crate::store::DEFAULT_CA_VALIDITY`]), not asked for.
        ca_default: bool,
    },

    /// The CA certificate has expired: it cannot sign anything useful.
    #[error("the {ca} CA expired {} (now {})", human(*not_after), human(*now))]
    CaExpired {
        /// Which CA (`server` or `client`).
        ca: &'static str,
        /// When it expired.
        not_after: OffsetDateTime,
        /// The time of the check.
        now: OffsetDateTime,
    },

    /// A line of the inventory could not be read.
    #[error("inventory {} is corrupt at line {line}: {reason}", path.display())]
    CorruptInventory {
        /// The inventory file.
        path: PathBuf,
        /// The 1-based line number.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },

    /// `client-install --forget` named an install the inventory does not record.
    #[error("no install of {role} is recorded in {}", dir.display())]
    NotInstalled {
        /// The role.
        role: String,
        /// The directory.
        dir: PathBuf,
    },

    /// The inventory lost records that were committed, or disagrees with what the CA directory
    /// shows was done (its seal, the CRLs, the archive): cut short, emptied, an older copy put
    /// back. No crash leaves that, and writing on would drop revocations.
    #[error("inventory {} is damaged: {evidence}", path.display())]
    DamagedInventory {
        /// The inventory file.
        path: PathBuf,
        /// What shows it: the file and the fact that disagree with it.
        evidence: String,
    },

    /// The inventory database (`--inventory`) could not be reached, or refused a statement. The
    /// connection string is named with its secrets redacted; nothing was written.
    #[error("inventory database {target}: {reason}")]
    InventoryDb {
        /// The connection string, redacted.
        target: String,
        /// What went wrong, one line.
        reason: String,
    },

    /// The inventory database's `pgca` schema was made by a newer pgca: this one does not know
    /// its tables, and neither reads nor migrates it.
    #[error(
        "inventory database {target}: its pgca schema is at version {found}, newer than this \
         pgca's {known}"
    )]
    InventorySchemaNewer {
        /// The connection string, redacted.
        target: String,
        /// The schema's version.
        found: i32,
        /// The newest version this pgca knows.
        known: i32,
    },

    /// `inventory import` into an inventory that already holds records: an import starts an
    /// inventory, it never merges into one.
    #[error(
        "{target} already holds {events} inventory records: import loads only an empty inventory"
    )]
    InventoryNotEmpty {
        /// The CA directory's inventory file, or the database (redacted).
        target: String,
        /// How many records it holds.
        events: u64,
    },

    /// An inventory export that cannot be imported: not an export, another version, cut short
    /// or changed (its header's count or digest does not match).
    #[error("{}: {reason}", path.display())]
    BadInventoryExport {
        /// The export file.
        path: PathBuf,
        /// What does not fit.
        reason: String,
    },

    /// Key generation or signing failed inside the crypto library.
    #[error("{what} failed: {source}")]
    Crypto {
        /// What was being done.
        what: &'static str,
        /// The crypto library's error (rcgen's, RustCrypto's), kept as the cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// Neither the caller, `PGSERVICEFILE` nor `HOME` says where the service file is.
    #[error("no service file: {0}")]
    NoServiceFile(&'static str),

    /// A service name libpq would read differently from what was meant.
    #[error("invalid service name {}: {reason}", quoted(name))]
    InvalidServiceName {
        /// The name as given.
        name: String,
        /// Why it was refused.
        reason: String,
    },

    /// A key pgca does not write into a service section.
    #[error(
        "pgca does not write the service key {key:?}: expected one of {}",
        expected.join(", ")
    )]
    UnknownServiceKey {
        /// The key as given.
        key: String,
        /// The keys pgca writes.
        expected: &'static [&'static str],
    },

    /// A value libpq would read differently from what was meant.
    #[error("invalid value {} for service key {key}: {reason}", shown(value))]
    InvalidServiceValue {
        /// The key (one pgca writes).
        key: String,
        /// The value as given; `None` for secrets (`sslpassword`), which messages never show.
        value: Option<String>,
        /// Why it was refused.
        reason: String,
    },

    /// The service file holds the service already and `--force` was not given.
    #[error("service {} already exists in {}", quoted(name), path.display())]
    ServiceExists {
        /// The service name.
        name: String,
        /// The service file.
        path: PathBuf,
    },

    /// The service file holds the service more than once: pgca does not guess which to edit.
    #[error(
        "service {} appears {} times in {} (lines {}): libpq uses the first (line {}); \
         pgca will not guess which one to change",
        quoted(name), lines.len(), path.display(), join_lines(lines), lines.first().copied().unwrap_or(0)
    )]
    DuplicateService {
        /// The service name.
        name: String,
        /// The service file.
        path: PathBuf,
        /// The 1-based lines of its headers, in file order.
        lines: Vec<usize>,
    },

    /// The service file does not hold the service.
    #[error("no service {} in {}", quoted(name), path.display())]
    NoSuchService {
        /// The service name.
        name: String,
        /// The service file.
        path: PathBuf,
    },

    /// libpq would fail reading the file before it gets the service, e.g. at an over-long line.
    #[error("libpq cannot read service {} from {}: line {line} {reason}", quoted(name), path.display())]
    UnreadableService {
        /// The service name.
        name: String,
        /// The service file.
        path: PathBuf,
        /// The 1-based line at fault.
        line: usize,
        /// What is wrong with the line.
        reason: String,
    },

    /// A line of PostgreSQL's configuration (`postgresql.conf`, `pg_hba.conf`, `pg_ident.conf`,
    /// or a file they include) that PostgreSQL would not accept: a syntax error, an unknown
    /// connection type or method, an include nested deeper than PostgreSQL allows or that
    /// includes itself.
    #[error("{} line {line}: {reason}", path.display())]
    BadConfig {
        /// The file holding the line.
        path: PathBuf,
        /// The 1-based line at fault.
        line: usize,
        /// What is wrong with it.
        reason: String,
    },

    /// One `revoke_many` call named certificates of both CAs: each CA's CRL is its own step.
    #[error("{first} and {other} are certificates of different CAs: revoke them in two steps")]
    MixedRevocation {
        /// The first target's name.
        first: String,
        /// A target of the other CA.
        other: String,
    },

    /// An enrollment token that is refused: not of pgca's form, unknown, already used, expired,
    /// for the other kind, or not carrying the names the request asks for. Only the token's
    /// public id is named, never its secret.
    #[error("enrollment token {id}: {reason}")]
    BadToken {
        /// The token's public id (`?` when the token is not of pgca's form).
        id: String,
        /// Why it is refused.
        reason: &'static str,
    },

    /// An online renewal refused for the certificate presented: unknown to the inventory,
    /// revoked, expired past the grace, superseded, or a request for a different name or key
    /// than allowed.
    #[error("renewal of {kind} {name:?} (serial {serial}) refused: {reason}")]
    RenewRefused {
        /// The presented certificate's kind.
        kind: CertKind,
        /// Its name.
        name: String,
        /// Its serial.
        serial: crate::model::serial::Serial,
        /// Why.
        reason: &'static str,
    },

    /// `pgca renew` asked by name for a certificate issued online by `pgca serve`: its host's
    /// `pgca agent` renews it; one issued here would reach no host and make the agent's
    /// certificate superseded.
    #[error(
        "{kind} {name:?} (serial {serial}) was issued online: its host's pgca agent renews it (pgca agent --force there)"
    )]
    RenewedOnline {
        /// Its kind.
        kind: CertKind,
        /// Its name.
        name: String,
        /// Its serial.
        serial: crate::model::serial::Serial,
    },

    /// A request to `pgca serve` (from `pgca enroll` or `pgca agent`) that failed: the CA could
    /// not be reached, its TLS identity did not check out, or it refused (`status`, with the
    /// sentence it answered).
    #[error("{url}: {reason}")]
    CaRequest {
        /// The CA's URL and the path asked for.
        url: String,
        /// The HTTP status of a refusal; `None` when there was no answer.
        status: Option<u16>,
        /// What went wrong, or what the CA said.
        reason: String,
    },

    /// `pgca agent`'s reload command failed: the new certificate is installed but the server
    /// may still serve the old one.
    #[error("the reload ({command}) failed ({status}): {stderr}")]
    ReloadFailed {
        /// The reload, as configured.
        command: String,
        /// How it ended.
        status: String,
        /// What it said on stderr.
        stderr: String,
    },

    /// An audit target that is neither an existing data directory or configuration file nor a
    /// connection string (`key=value …`, `postgresql://…`).
    #[error("{0}: not a data directory, a configuration file or a connection string")]
    BadAuditTarget(String),

    /// A live audit could not connect to the server, log in or read what it needs; the
    /// connection string is shown without its password.
    #[error("{target}: {reason}")]
    AuditConnect {
        /// The connection string, password removed.
        target: String,
        /// What failed, as the client library says it.
        reason: String,
    },

    /// A file given to install (`--cert`, `--key`, `--ca-file`, `--root`), or a passphrase, PIN
    /// or password file (`--passphrase-file`, `PGCA_PASSPHRASE_FILE`, `--key-passphrase-file`,
    /// `--new-passphrase-file`), that pgca does not read: not a regular file (a FIFO, a device),
    /// too large, a key another user owns, others can read, or that has other hard links
    /// (libpq's and PostgreSQL's own rule for key files: owned by the user and at most 0600, or
    /// owned by root and at most 0640), or a passphrase file another user owns or group or
    /// others can open (owned by root or the user pgca runs as, at most 0600).
    #[error("refusing {}: {reason}", path.display())]
    UnsafeInput {
        /// The file as given.
        path: PathBuf,
        /// What is wrong with it.
        reason: UnsafeInput,
    },

    /// A certificate given to install that does not fit its use: a CA certificate where a
    /// server's or client's is needed, the wrong extended key usage, expired or not yet valid,
    /// a CN that is not a role, or a CA file mixed up with the other CA.
    #[error("cannot install certificate {}: {reason}", path.display())]
    UnfitCert {
        /// The certificate file.
        path: PathBuf,
        /// Why it does not fit.
        reason: String,
    },

    /// A CA file given to install that holds the CA which signed the certificate beside it:
    /// each side needs the other side's CA (pgca's server CA and client CA are two; a server
    /// trusts the client CA, a client the server CA).
    #[error(
        "{} holds the CA that signed {} ({ca}): it is to be the other side's CA",
        path.display(),
        cert.display()
    )]
    SameSideCa {
        /// The CA file.
        path: PathBuf,
        /// The certificate being installed.
        cert: PathBuf,
        /// The CA's subject (control characters escaped).
        ca: String,
    },

    /// A CRL given to install that does not fit the CA file beside it: not signed by one of its
    /// CAs, a CA of the file without a CRL (PostgreSQL and libpq then refuse every certificate
    /// of that CA), or past its nextUpdate (the same).
    #[error("cannot install CRL {}: {reason}", path.display())]
    UnfitCrl {
        /// The CRL file.
        path: PathBuf,
        /// Why it does not fit.
        reason: String,
    },
    /// A `pkcs11:` URI (a token reference) that pgca cannot use.
    #[error("invalid pkcs11 uri {}: {reason}", shown(&Some(input.clone())))]
    BadPkcs11Uri {
        /// The URI as given.
        input: String,
        /// What is wrong with it.
        reason: &'static str,
    },

    /// A PKCS#11 module pgca will not load: another user could have changed it.
    #[error("refusing pkcs11 module {}: {reason}", path.display())]
    UntrustedModule {
        /// The module as named.
        path: PathBuf,
        /// What is wrong.
        reason: &'static str,
    },

    /// A call into a PKCS#11 module failed.
    #[error("pkcs11 {what} failed on token \"{token}\": {code}")]
    Pkcs11 {
        /// What was being done, e.g. `generating the key pair`.
        what: &'static str,
        /// The token's label.
        token: String,
        /// The module's return code (`CKR_…` name) or the loader's message.
        code: String,
        /// The cryptoki error, kept as the cause.
        #[source]
        source: Box<dyn std::error::Error + Send + Sync + 'static>,
    },

    /// Logging in to a token failed: a wrong or locked PIN. Nothing was signed or written.
    #[error("pkcs11 login to token \"{token}\" failed: {reason}")]
    Pkcs11Login {
        /// The token's label.
        token: String,
        /// Why, e.g. `wrong PIN`.
        reason: &'static str,
    },

    /// No initialised token with this label (and serial) in the module.
    #[error("no pkcs11 token labelled \"{token}\" in module {}", module.display())]
    NoToken {
        /// The module.
        module: PathBuf,
        /// The label looked for.
        token: String,
    },

    /// The private key a token reference names is not in the token (or is not unique there).
    #[error("the key {} names is not in token \"{token}\"", path.display())]
    NoTokenKey {
        /// The reference file (`DIR/server-ca.pkcs11`).
        path: PathBuf,
        /// The token's label.
        token: String,
    },

    /// A key type pgca does not keep in a token.
    #[error("{0} CA keys cannot be kept in a pkcs11 token (ecdsa-p256, ecdsa-p384 and rsa can)")]
    TokenKeyType(&'static str),

    /// A CA key is held in a token and no PIN was given.
    #[error("no PIN given for pkcs11 token \"{token}\"")]
    NeedPin {
        /// The token's label.
        token: String,
    },

    /// A CA key held in a token has no passphrase of pgca's to change.
    #[error("{} names a CA key in a pkcs11 token: its PIN belongs to the token", .0.display())]
    KeyInToken(PathBuf),

    /// A rollover of this CA is already under way.
    #[error("a rollover of the {side} CA is already under way (phase {phase})")]
    RolloverUnderWay {
        /// `server` or `client`.
        side: &'static str,
        /// `trust-both` or `issue-new`.
        phase: &'static str,
    },

    /// No rollover of this CA is under way.
    #[error("no rollover of the {side} CA is under way")]
    NoRollover {
        /// `server` or `client`.
        side: &'static str,
    },

    /// A rollover step asked for out of order: `switch` twice, or `finish` before `switch`.
    #[error("the {side} CA rollover is in phase {phase}: {wanted} is not its next step")]
    RolloverOrder {
        /// `server` or `client`.
        side: &'static str,
        /// The phase it is in.
        phase: &'static str,
        /// The step asked for (`switch`, `finish`).
        wanted: &'static str,
    },

    /// A rollover's new CA is on disk but the inventory does not record it.
    #[error("{} is a CA the inventory does not record", .0.display())]
    UnrecordedNextCa(PathBuf),

    /// `rollover finish` refused: something still depends on the old CA.
    #[error(
        "the {side} CA rollover cannot finish: {} still on the old CA: {}",
        blockers.len(),
        blockers.join("; ")
    )]
    RolloverBlocked {
        /// `server` or `client`.
        side: &'static str,
        /// One line each: a leaf, a deployment, an install or a probed server.
        blockers: Vec<String>,
    },

    /// `rollover start --intermediate` for a side without an issuing intermediate, or a root
    /// rollover asked of a hierarchy (its leaves are signed by the intermediate: replace that).
    #[error("the {side} CA {}", if *hierarchy {
        "is a hierarchy (a root and an issuing intermediate): only its intermediate can be rolled over"
    } else {
        "has no issuing intermediate to roll over"
    })]
    RolloverKind {
        /// `server` or `client`.
        side: &'static str,
        /// Whether the side is a hierarchy.
        hierarchy: bool,
    },
}

impl Error {
    /// The Nagios status of `check` or `verify` when this error stops them: CRITICAL for an
    /// inventory that is damaged or corrupt (committed records are lost or unreadable, so no
    /// certificate's state is known, and a CRL written from it would drop revocations), UNKNOWN
    /// for anything else (a file that could not be read, a bad option).
    pub fn monitoring_status(&self) -> crate::model::status::Status {
        match self {
            Error::DamagedInventory { .. } | Error::CorruptInventory { .. } => {
                crate::model::status::Status::Critical
            }
            _ => crate::model::status::Status::Unknown,
        }
    }

    /// Wraps an I/O error with what was being done and the path.
    pub(crate) fn io(
        action: &'static str,
        path: impl AsRef<Path>,
    ) -> impl FnOnce(io::Error) -> Error {
        let path = path.as_ref().to_path_buf();
        move |source| Error::Io {
            action,
            path,
            source,
        }
    }

    /// Like [`Error::io`], public for the binary.
    pub fn io_at(action: &'static str, path: impl AsRef<Path>) -> impl FnOnce(io::Error) -> Error {
        Error::io(action, path)
    }

    /// Wraps an rcgen error.
    pub(crate) fn rcgen(what: &'static str) -> impl FnOnce(rcgen::Error) -> Error {
        move |e| Error::Crypto {
            what,
            source: Box::new(e),
        }
    }
}

/// Why pgca refuses a path: what another user could do with it.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Distrust {
    /// Owned by a user who is neither root, the user pgca runs as, nor the files' owner: that
    /// user could swap what pgca writes there, or point it elsewhere.
    Owner {
        /// The owner's uid.
        uid: u32,
        /// The owner's name, if the system knows it.
        name: Option<String>,
    },
    /// Writable by its group or by everyone, without the sticky bit.
    Writable {
        /// The permission bits.
        mode: u32,
    },
    /// A symbolic link owned by such a user.
    ForeignLink {
        /// The link's owner.
        uid: u32,
        /// The owner's name, if the system knows it.
        name: Option<String>,
    },
    /// A symbolic link where pgca keeps a directory or file of its own (`DATA/pgca-tls`): pgca
    /// never follows one there.
    Symlink,
    /// Not a directory.
    NotADirectory,
    /// More than 40 symbolic links on the way.
    TooManyLinks,
}

impl fmt::Display for Distrust {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Distrust::Owner { uid, name } => write!(
                f,
                "owned by {}, who could replace what pgca writes there",
                who(*uid, name)
            ),
            Distrust::Writable { mode } => write!(
                f,
                "writable by other users (mode {mode:04o}), who could replace what pgca writes there"
            ),
            Distrust::ForeignLink { uid, name } => {
                write!(f, "a symbolic link owned by {}", who(*uid, name))
            }
            Distrust::Symlink => f.write_str("a symbolic link, which pgca never follows there"),
            Distrust::NotADirectory => f.write_str("not a directory"),
            Distrust::TooManyLinks => f.write_str("too many levels of symbolic links"),
        }
    }
}

/// What is wrong with the bytes of a certificate or CRL file.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Malformed {
    /// No PEM block could be read.
    #[error("not a PEM file")]
    NotPem,
    /// PEM, but without a block of the label looked for.
    #[error("no {0} block in the PEM file")]
    NoBlock(&'static str),
    /// The block does not hold an X.509 certificate (x509-parser's reason).
    #[error("not an X.509 certificate ({0})")]
    NotCertificate(String),
    /// Bytes follow the certificate's DER.
    #[error("trailing bytes after the certificate")]
    TrailingBytes,
    /// The block does not hold a CRL (x509-parser's reason).
    #[error("not a CRL ({0})")]
    NotCrl(String),
    /// A certificate where a CA certificate is needed.
    #[error("not a CA certificate")]
    NotCa,
}

/// Where a public key pgca refuses came from (see [`Error::RefusedKey`]).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyOrigin {
    /// A certificate signing request (`pgca sign FILE`): the file as given.
    Request(PathBuf),
    /// The public key recorded for a name, about to be certified (again): `renew` of an
    /// external key.
    Certified {
        /// Server or client.
        kind: CertKind,
        /// The name.
        name: String,
    },
}

impl fmt::Display for KeyOrigin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeyOrigin::Request(path) => write!(f, "request {}", path.display()),
            KeyOrigin::Certified { kind, name } => write!(f, "the public key of {kind} {name}"),
        }
    }
}

/// Why pgca refuses to certify a public key it did not generate (see [`Error::RefusedKey`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum WeakKey {
    /// Not a key of a type pgca certifies, or not readable as one.
    #[error("the public key is not one of a type pgca certifies")]
    Unsupported,
    /// An Ed25519 point of order 1, 2, 4 or 8 (the identity and the other torsion points): a
    /// signature made without any private key verifies for every message.
    #[error("the Ed25519 public key is a small-order point (anyone can forge signatures for it)")]
    SmallOrder,
    /// An Ed25519 encoding that is not the point's canonical one (`y >= p`, or `x = 0` with the
    /// sign bit set): verifiers disagree about such keys.
    #[error(
        "the Ed25519 public key is not canonically encoded (y not below p, or x = 0 marked negative)"
    )]
    NonCanonical,
    /// Not a point of the curve (or not one of its coordinates' size).
    #[error("the {curve} public key is not a point on the curve")]
    NotOnCurve {
        /// `Ed25519`, `ECDSA P-256` or `ECDSA P-384`.
        curve: &'static str,
    },
    /// The point at infinity: no key at all.
    #[error("the {curve} public key is the point at infinity")]
    Infinity {
        /// `ECDSA P-256` or `ECDSA P-384`.
        curve: &'static str,
    },
    /// A compressed point: pgca's verifiers (ring) take uncompressed points only.
    #[error(
        "the {curve} public key is a compressed point (pgca certifies uncompressed points only)"
    )]
    Compressed {
        /// `ECDSA P-256` or `ECDSA P-384`.
        curve: &'static str,
    },
    /// An RSA modulus shorter than 2048 bits.
    #[error("the RSA modulus has {bits} bits, fewer than 2048")]
    ShortModulus {
        /// Its length.
        bits: usize,
    },
    /// An even RSA modulus: 2 is a factor.
    #[error("the RSA modulus is even (2 divides it)")]
    EvenModulus,
    /// An RSA modulus with a prime factor below 2^16: anyone can factor it.
    #[error("the RSA modulus has the small prime factor {factor} (anyone can factor it)")]
    SmallFactor {
        /// The factor found.
        factor: u32,
    },
    /// An even RSA public exponent: no RSA key has one.
    #[error("the RSA public exponent is even")]
    EvenExponent,
    /// An RSA public exponent below 65537.
    #[error("the RSA public exponent {exponent} is below 65537")]
    SmallExponent {
        /// The exponent.
        exponent: u64,
    },
}

/// Why pgca refuses to sign with a CA key.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeKey {
    /// The key's path is not a regular file (a link, a device).
    #[error("not a regular file")]
    NotAFile,
    /// Other users can read the key: it may have been copied.
    #[error("it is mode {mode:04o}, readable by other users")]
    Readable {
        /// The permission bits.
        mode: u32,
    },
    /// Other users can write the CA directory: the key may have been swapped.
    #[error("the CA directory is mode {mode:04o}, writable by other users")]
    DirectoryWritable {
        /// The permission bits.
        mode: u32,
    },
}

/// Why pgca does not read a file given to install or a passphrase file (see
/// [`Error::UnsafeInput`]).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum UnsafeInput {
    /// A directory, device, FIFO or socket.
    #[error("not a regular file")]
    NotAFile,
    /// More than pgca reads as a certificate or key.
    #[error("larger than {max} bytes")]
    TooLarge {
        /// The limit.
        max: u64,
    },
    /// A key owned by a user who is neither root nor the user pgca runs as.
    #[error(
        "a key owned by {}, not by root or the user pgca runs as: it may have been copied or swapped",
        who(*uid, name)
    )]
    KeyOwner {
        /// The owner's uid.
        uid: u32,
        /// The owner's name, if the system knows it.
        name: Option<String>,
    },
    /// A key others may read or write (libpq's rule: at most 0600, or 0640 when root's).
    #[error(
        "a key of mode {mode:04o}, open to other users (at most {allowed:04o} for a key owned by {})",
        if *root { "root" } else { "its user" }
    )]
    KeyMode {
        /// The permission bits.
        mode: u32,
        /// The most the rule allows.
        allowed: u32,
        /// Whether root owns it.
        root: bool,
    },
    /// A key with more than one name: another name may be in a directory another user controls.
    #[error("a key with {0} hard links: another name for it may be another user's")]
    HardLinks(u64),
    /// A passphrase, PIN or password file owned by a user who is neither root nor the user
    /// pgca runs as: that user chose what it holds, or can change it.
    #[error(
        "a passphrase file owned by {}, not by root or the user pgca runs as",
        who(*uid, name)
    )]
    SecretOwner {
        /// The owner's uid.
        uid: u32,
        /// The owner's name, if the system knows it.
        name: Option<String>,
    },
    /// A passphrase, PIN or password file group or others may read or write (it must be at
    /// most 0600, whoever owns it).
    #[error("a passphrase file of mode {mode:04o}, open to other users (at most 0600)")]
    SecretMode {
        /// The permission bits.
        mode: u32,
    },
}

fn who(uid: u32, name: &Option<String>) -> String {
    match name {
        Some(n) => format!("{n} (uid {uid})"),
        None => format!("uid {uid}"),
    }
}

/// A lifetime in a message: `60d`, or `1y, the default` when nobody asked for it.
fn lifetime(value: &str, default: bool) -> String {
    if default {
        format!("{value}, the default")
    } else {
        value.to_string()
    }
}

/// A value for a message: quoted and escaped (the first 40 characters of a long one), or
/// `(hidden)` for a secret.
fn shown(value: &Option<String>) -> String {
    match value {
        Some(v) if v.chars().count() > 40 => {
            format!("{:?}…", v.chars().take(40).collect::<String>())
        }
        Some(v) => format!("{v:?}"),
        None => "(hidden)".to_string(),
    }
}

/// `5s`, `300ms`, `2m30s`.
fn humantime(d: std::time::Duration) -> String {
    let ms = d.as_millis();
    if !ms.is_multiple_of(1000) {
        format!("{ms}ms")
    } else {
        let s = d.as_secs();
        match (s / 60, s % 60) {
            (0, s) => format!("{s}s"),
            (m, 0) => format!("{m}m"),
            (m, s) => format!("{m}m{s}s"),
        }
    }
}

/// `3, 17, 40`.
fn join_lines(lines: &[usize]) -> String {
    lines
        .iter()
        .map(|l| l.to_string())
        .collect::<Vec<_>>()
        .join(", ")
}

/// The OS error in the lowercase words of the rest of the message, without the `(os error N)` tail.
fn io_reason(e: &io::Error) -> String {
    use io::ErrorKind::*;
    let s = match e.kind() {
        NotFound => "no such file or directory",
        PermissionDenied => "permission denied",
        AlreadyExists => "file exists",
        ReadOnlyFilesystem => "read-only file system",
        StorageFull => "no space left on device",
        IsADirectory => "is a directory",
        NotADirectory => "not a directory",
        _ => {
            let full = e.to_string();
            let trimmed = full.split(" (os error").next().unwrap_or(&full);
            return trimmed.to_lowercase();
        }
    };
    s.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::error::Error as _;

    #[test]
    fn io_error_names_path_and_reason_and_keeps_source() {
        let e = Error::io("read CA key", "/x/client-ca.key")(io::Error::from(
            io::ErrorKind::PermissionDenied,
        ));
        assert_eq!(
            e.to_string(),
            "cannot read CA key /x/client-ca.key: permission denied"
        );
        assert!(e.source().is_some());
    }

    #[test]
    fn messages_are_one_line_even_for_hostile_names() {
        let e = Error::InvalidRole {
            name: "x\n[evil]".into(),
            reason: "control characters",
        };
        assert!(!e.to_string().contains('\n'), "{e}");
    }
}
