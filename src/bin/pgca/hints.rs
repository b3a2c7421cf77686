//! What to do about a failure: the advice printed after a library error.
//!
//! The library's messages say what is wrong and where (`/etc/pgca/clients/alice.crt already
//! exists`); which flag or command fixes it is the command line's business, so it is added
//! here, on the same line after a colon: `pgca: <message>: <hint>`. One line per failure keeps
//! cron mail and Nagios status lines readable, and is what the exit-status contract promises.

use pgca::model::text::escape;
use pgca::ops::renew::RenewFailure;
use pgca::{CertKind, Error};

/// The error's message, and its hint when there is one: `<message>: <hint>`, escaped as every
/// line of output is ([`escape`]: a path or name in it may hold control or invisible characters).
pub fn with_hint(e: &Error) -> String {
    let line = match hint(e) {
        Some(h) => format!("{e}: {h}"),
        None => e.to_string(),
    };
    escape(&line).into_owned()
}

/// The advice for an error, if pgca has any.
pub fn hint(e: &Error) -> Option<String> {
    let h = match e {
        Error::NoDirectory => "use --dir DIR or set PGCA_DIR".into(),
        Error::DamagedInventory { .. } | Error::CorruptInventory { .. } => {
            "nothing was written; `pgca repair` shows what the CA directory says was lost, `pgca repair --write` records it again"
                .into()
        }
        Error::InventoryNotEmpty { .. } => {
            "import starts an inventory: load it into an empty database, or a CA directory without inventory.jsonl"
                .into()
        }
        Error::InventorySchemaNewer { .. } => {
            "a newer pgca migrated this database: run that version (pgca never downgrades a schema)"
                .into()
        }
        Error::BadInventoryExport { .. } => {
            "nothing was written; export it again with `pgca inventory export FILE`".into()
        }
        Error::MissingCaFile(path) if path.to_string_lossy().contains(".next.") => {
            "a rollover's new CA key stays on the hosts it was copied to: copy it (or its .pkcs11 file) from the CA host into this CA directory, mode 0600 (docs/fleet.md)"
                .into()
        }
        Error::UnusualRole { .. } => {
            "if the role really has this name, pass --allow-unusual-role".into()
        }
        Error::ExternalKey { .. } => {
            "its key is on its host: copy the certificate there (pgca export --format pem gives it)"
                .into()
        }
        Error::NeedsNewCsr { kind, name, .. } => format!(
            "run `pgca request --{} {}` on its host, then `pgca sign FILE.csr --{} --force` here",
            kind.name(),
            shell_word(name),
            kind.name()
        ),
        Error::RevokedKey { kind, name, .. } => format!(
            "it needs a new key: `pgca issue-{0} {1} --force`, or, for a key made elsewhere, `pgca request --{0} {1} --force` on its host and `pgca sign FILE.csr --{0} --force` here",
            kind.name(),
            shell_word(name)
        ),
        Error::RefusedKey { origin, .. } => match origin {
            pgca::KeyOrigin::Certified { kind, name } => format!(
                "its host needs a new key: `pgca request --{0} {1} --force` there, then `pgca sign FILE.csr --{0} --force` here",
                kind.name(),
                shell_word(name)
            ),
            _ => {
                "make a new key and request on the host that keeps the key (`pgca request`)".into()
            }
        },
        Error::BadCsr { .. } => {
            "make one with `pgca request` (or openssl req -new) on the host that keeps the key"
                .into()
        }
        Error::NoCa(_) => "run `pgca init`".into(),
        Error::NoHome(_) => "give the directory with --to DIR".into(),
        Error::UnsafeCaKey { path, reason } => match reason {
            pgca::UnsafeKey::Readable { .. } => format!(
                "chmod 600 {} (and consider the key compromised if others could read it)",
                path.display()
            ),
            pgca::UnsafeKey::DirectoryWritable { .. } => format!("chmod 700 {}", path.display()),
            _ => return None,
        },
        Error::CaExists(_) => "use another --dir, or remove it first".into(),
        Error::PartialCa { .. } => {
            "if its inventory is in a database, give --inventory CONNINFO (or set PGCA_INVENTORY); after an interrupted `pgca init`, remove those files or use another --dir".into()
        }
        Error::CertExists(_) | Error::ServiceExists { .. } => "use --force to replace it".into(),
        Error::NotIssued { kind, name, .. } => match kind {
            Some(CertKind::Server) => format!("run `pgca issue-server {}`", shell_word(name)),
            Some(CertKind::Client) => format!("run `pgca issue-client {}`", shell_word(name)),
            _ => format!(
                "run `pgca issue-server {0}` or `pgca issue-client {0}`, or see `pgca list`",
                shell_word(name)
            ),
        },
        Error::Revoked { kind, name, .. } => {
            let command = if *kind == CertKind::Server {
                "issue-server"
            } else {
                "issue-client"
            };
            format!(
                "issue a new one explicitly with `pgca {command} {} --force`",
                shell_word(name)
            )
        }
        Error::Ambiguous(_) => {
            "give the serial instead (export: --kind server or client); see `pgca list`".into()
        }
        Error::NoExportPassword => "give --key-passphrase-file FILE (or run on a terminal)".into(),
        Error::EncryptedExport { .. } => {
            "export it as pem or pk8 (which keep it encrypted), or issue it without --encrypt-key"
                .into()
        }
        Error::Expired { name, .. } => format!("renew it: `pgca renew {}`", shell_word(name)),
        Error::RevokeCa(_) => "to retire it, create a new CA directory and move to it".into(),
        Error::NoCrl(_) => "run `pgca crl` to write the CRLs".into(),
        Error::NeedPassphrase(_) => "give --passphrase-file FILE or set PGCA_PASSPHRASE_FILE \
             (standard input is not a terminal to ask on)"
            .into(),
        Error::NeedPin { .. } => "give the token's user PIN with --passphrase-file FILE or set \
             PGCA_PASSPHRASE_FILE (standard input is not a terminal to ask on)"
            .into(),
        Error::KeyInToken(_) => {
            "change the PIN with the token's own tool (pkcs11-tool --change-pin, softhsm2-util)"
                .into()
        }
        Error::NoRollover { side } => format!("start one with `pgca rollover start {side}`"),
        Error::RolloverUnderWay { side, .. } => format!(
            "`pgca rollover status` says where it stands; `pgca rollover finish {side}` ends it"
        ),
        Error::RolloverOrder { side, phase, .. } => match *phase {
            "trust-both" => format!("its next step is `pgca rollover switch {side}`"),
            _ => format!("its next step is `pgca rollover finish {side}`"),
        },
        Error::RolloverBlocked { .. } => "run `pgca renew` (with your reload hook), reload every              server that is still on the old CA, then finish again; `pgca rollover status` lists              what is left"
            .into(),
        Error::UnrecordedNextCa(_) => "a rollover start died before it was recorded: move the              file and its key away (keep them until you know nothing was signed with them), then              start again"
            .into(),
        Error::NoToken { module, .. } => format!(
            "list its tokens with `pkcs11-tool --module {} --list-slots` (SoftHSM2: \
             `softhsm2-util --show-slots`)",
            module.display()
        ),
        Error::NoPassphraseForInit => "pgca init encrypts the CA keys: give --passphrase-file \
             FILE, set PGCA_PASSPHRASE_FILE, run it on a terminal, or choose --no-passphrase"
            .into(),
        Error::NeedKeyPassphrase(_) => {
            "renew it with --key-passphrase-file FILE (the new key is encrypted with it too)".into()
        }
        Error::OutlivesCa { .. } => "shorten --validity or renew the CA".into(),
        Error::ServerOutlivesCas { ca, .. } => {
            format!("give a --validity of at most {ca}, or a longer --ca-validity")
        }
        Error::CaExpired { .. } => "renew the CA".into(),
        Error::DuplicateService { .. } => "edit the file by hand".into(),
        Error::UnsafeInput { path, reason } => match reason {
            pgca::UnsafeInput::KeyMode { .. } => format!(
                "chmod 600 {} (and consider the key compromised if others could read it)",
                shell_word(&path.to_string_lossy())
            ),
            pgca::UnsafeInput::KeyOwner { .. } => format!(
                "run pgca as the key's owner, or chown root {}",
                shell_word(&path.to_string_lossy())
            ),
            pgca::UnsafeInput::HardLinks(_) => {
                "copy the key to a file of its own, mode 0600".into()
            }
            pgca::UnsafeInput::SecretMode { .. } => {
                let f = shell_word(&path.to_string_lossy());
                format!(
                    "chmod 600 {f}; chown root {f} (and change the passphrase or PIN if others \
                     could read it)"
                )
            }
            pgca::UnsafeInput::SecretOwner { .. } => {
                let f = shell_word(&path.to_string_lossy());
                format!("chmod 600 {f}; chown root {f} (once you know what it holds)")
            }
            _ => return None,
        },
        Error::UnfitCrl { .. } => {
            "write a current CRL with `pgca crl` on the CA host and give that file".into()
        }
        Error::SameSideCa { .. } => "--cert is this host's own certificate; --ca-file \
             (deploy-server) is the client CA, --root (client-install) the server CA"
            .into(),
        _ => return None,
    };
    Some(h)
}

/// A failure of `renew` (`cannot renew client alice: <message>`), with the hint of its error.
pub fn failure_with_hint(f: &RenewFailure) -> String {
    let error = match f {
        RenewFailure::Renew { error, .. }
        | RenewFailure::RevokeOld { error, .. }
        | RenewFailure::Crl { error, .. }
        | RenewFailure::Deploy { error, .. }
        | RenewFailure::Install { error, .. } => error,
        _ => return escape(&f.to_string()).into_owned(),
    };
    let line = match hint(error) {
        Some(h) => format!("{f}: {h}"),
        None => f.to_string(),
    };
    escape(&line).into_owned()
}

/// A name as one shell word: as it is when it holds only characters no shell treats specially,
/// else in single quotes; control characters are shown escaped (`\n`), keeping the hint on its
/// line (the library refuses them in names it issues, but a name given on the command line
/// reaches the hint unchecked).
fn shell_word(s: &str) -> String {
    let plain = !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "._-:@%+=,/".contains(c));
    if plain {
        s.to_string()
    } else {
        let quoted = format!("'{}'", s.replace('\'', r"'\''"));
        escape(&quoted).into_owned()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn not_issued(kind: Option<CertKind>, name: &str) -> Error {
        Error::NotIssued {
            kind,
            name: name.into(),
            dir: PathBuf::from("/ca"),
        }
    }

    #[test]
    fn an_unsafe_ca_key_gets_the_chmod_that_fixes_it() {
        let e = Error::UnsafeCaKey {
            path: PathBuf::from("/ca/client-ca.key"),
            reason: pgca::UnsafeKey::Readable { mode: 0o644 },
        };
        assert_eq!(
            with_hint(&e),
            "refusing to sign with /ca/client-ca.key: it is mode 0644, readable by other users: \
             chmod 600 /ca/client-ca.key (and consider the key compromised if others could read it)"
        );
        let e = Error::UnsafeCaKey {
            path: PathBuf::from("/ca"),
            reason: pgca::UnsafeKey::DirectoryWritable { mode: 0o777 },
        };
        assert!(with_hint(&e).ends_with("writable by other users: chmod 700 /ca"));
    }

    #[test]
    fn a_loose_or_foreign_key_file_gets_the_command_that_fixes_it() {
        let e = Error::UnsafeInput {
            path: PathBuf::from("/host/db key"),
            reason: pgca::UnsafeInput::KeyMode {
                mode: 0o644,
                allowed: 0o600,
                root: false,
            },
        };
        assert_eq!(
            with_hint(&e),
            "refusing /host/db key: a key of mode 0644, open to other users (at most 0600 for a \
             key owned by its user): chmod 600 '/host/db key' (and consider the key compromised \
             if others could read it)"
        );
        let e = Error::UnsafeInput {
            path: PathBuf::from("/host/db.key"),
            reason: pgca::UnsafeInput::KeyOwner {
                uid: 65534,
                name: Some("nobody".into()),
            },
        };
        assert!(
            with_hint(&e).ends_with(": run pgca as the key's owner, or chown root /host/db.key"),
            "{}",
            with_hint(&e)
        );
        let e = Error::UnsafeInput {
            path: PathBuf::from("/host/db.key"),
            reason: pgca::UnsafeInput::NotAFile,
        };
        assert_eq!(with_hint(&e), "refusing /host/db.key: not a regular file");
    }

    #[test]
    fn a_loose_or_foreign_passphrase_file_gets_the_commands_that_fix_it() {
        let e = Error::UnsafeInput {
            path: PathBuf::from("/etc/pgca.passphrase"),
            reason: pgca::UnsafeInput::SecretMode { mode: 0o640 },
        };
        assert_eq!(
            with_hint(&e),
            "refusing /etc/pgca.passphrase: a passphrase file of mode 0640, open to other users \
             (at most 0600): chmod 600 /etc/pgca.passphrase; chown root /etc/pgca.passphrase \
             (and change the passphrase or PIN if others could read it)"
        );
        let e = Error::UnsafeInput {
            path: PathBuf::from("/tmp/my pin"),
            reason: pgca::UnsafeInput::SecretOwner {
                uid: 65534,
                name: Some("nobody".into()),
            },
        };
        assert_eq!(
            with_hint(&e),
            "refusing /tmp/my pin: a passphrase file owned by nobody (uid 65534), not by root or \
             the user pgca runs as: chmod 600 '/tmp/my pin'; chown root '/tmp/my pin' (once you \
             know what it holds)"
        );
    }

    #[test]
    fn not_issued_names_the_command_of_its_kind() {
        assert_eq!(
            with_hint(&not_issued(Some(CertKind::Server), "db")),
            "no server certificate for \"db\" in /ca: run `pgca issue-server db`"
        );
        assert_eq!(
            with_hint(&not_issued(Some(CertKind::Client), "alice")),
            "no client certificate for \"alice\" in /ca: run `pgca issue-client alice`"
        );
        let either = with_hint(&not_issued(None, "x"));
        assert!(
            either.contains("`pgca issue-server x` or `pgca issue-client x`"),
            "{either}"
        );
    }

    #[test]
    fn names_are_quoted_for_the_shell() {
        assert_eq!(shell_word("alice"), "alice");
        assert_eq!(shell_word("*.db.example.com"), "'*.db.example.com'");
        assert_eq!(shell_word("o'brien x"), r"'o'\''brien x'");
    }

    #[test]
    fn renew_failures_get_the_hint_of_their_error() {
        let f = RenewFailure::Renew {
            kind: CertKind::Client,
            name: "alice".into(),
            error: Error::NeedKeyPassphrase("client alice".into()),
        };
        assert_eq!(
            failure_with_hint(&f),
            "cannot renew client alice: client alice's key is encrypted: renew it with \
             --key-passphrase-file FILE (the new key is encrypted with it too)"
        );
    }

    #[test]
    fn no_hint_is_a_line_of_its_own() {
        for e in [
            Error::NoDirectory,
            Error::NoCa("/ca".into()),
            Error::NoPassphraseForInit,
            not_issued(Some(CertKind::Client), "a\nb"),
        ] {
            assert!(!with_hint(&e).contains('\n'), "{e:?}");
        }
    }
}
