//! The exit-status blocks of `--help` (and of the man pages' EXIT STATUS), one per command that
//! has its own; the others show [`COMMAND_EXIT_CODES`].
//!
//! The shape: a heading at the margin, a code and its meaning indented by two, continuation lines
//! under the meaning; no line over 79 columns, so that clap (which wraps to the terminal) never
//! breaks one on an 80-column terminal. Every command shows one.

/// `pgca --help`: every command's exit statuses, and where the CA directory is.
pub const EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure, one line on stderr: bad input (a name, duration or key type),
     an existing certificate without --force, a file that cannot be read or
     written, a CA that cannot sign, a path another user controls, a revoked
     certificate, a lock still held after --wait
  2  usage error: unknown command or option, missing argument

check and verify follow the Nagios convention instead: 0 OK, 1 WARNING,
2 CRITICAL, 3 UNKNOWN (pgca check --help).

The CA directory is --dir, else $PGCA_DIR, else $XDG_DATA_HOME/pgca, else
~/.local/share/pgca. Its inventory is DIR/inventory.jsonl, or with
--inventory (or $PGCA_INVENTORY) a PostgreSQL database's pgca schema.";

/// What every command without a block of its own shows.
pub const COMMAND_EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure, one line on stderr
  2  usage error: unknown option, missing argument";

/// The exit-status block of `check`.
pub const CHECK_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe finding wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        nothing due
  1  WARNING   a certificate due for renewal, or a CA due for rollover
  2  CRITICAL  a certificate expired or not yet valid, a key that does not
               match its certificate, a certificate file that is not the one
               the inventory records, a CA that expires before a certificate
               it signed
  3  UNKNOWN   the directory or a file could not be read, or is corrupt";

/// The exit-status block of `probe`.
pub const PROBE_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe target wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        every server serves its current certificate, valid for the name
  1  WARNING   renewed but not reloaded (serves an older serial than the
               inventory's current one), due for renewal, TLS 1.2 only
  2  CRITICAL  expired, does not chain to the server CA, name mismatch, no TLS
               (ssl = off), the TLS handshake failed
  3  UNKNOWN   connection refused, no answer within --timeout, not
               PostgreSQL, or the CA directory cannot be read";

/// The exit-status block of `verify`.
pub const VERIFY_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe problem wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        no problem found
  1  WARNING   leftovers of an interrupted write, a deployed copy that is not
               current, a CA directory mode other than 0700
  2  CRITICAL  a key that does not match its certificate, a broken chain or
               usage, a key file others can read, a CRL that does not verify
  3  UNKNOWN   the directory, a certificate, a key or a CRL cannot be read";

/// The exit-status block of `renew`.
pub const RENEW_EXIT_CODES: &str = "\
Exit status:
  0  success: renewed what was due, or nothing was due
  1  failure: a line on stderr for each; the rest was still renewed, and a
     failed hook does not undo the renewal
  2  usage error: unknown option, missing argument";

/// The exit-status block of `deploy-server`.
pub const DEPLOY_SERVER_EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure, one line on stderr: a directory or link another user controls,
     a file that cannot be read, not a data directory, a revoked certificate;
     with --cert, found before anything is written: a key that is not the
     certificate's, a key others can read or another user owns, not a server
     certificate, expired or not yet valid, a --ca-file that holds no CA or
     the server's own CA, a --crl not signed by it or past its nextUpdate
  2  usage error: unknown option, missing argument, NAME with --cert";

/// The exit-status block of `client-install`.
pub const CLIENT_INSTALL_EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure, one line on stderr: a directory or link another user controls,
     a file that cannot be read, existing files without --force, a revoked
     certificate; with --cert, found before anything is written: a key that
     is not the certificate's, a key others can read or another user owns,
     not a client certificate or its CN not a role, expired or not yet valid,
     a --root that holds no CA or the client's own CA, a --crl not signed by
     it or past its nextUpdate
  2  usage error: unknown option, missing argument, ROLE with --cert";

/// The exit-status block of `audit` and `roles`.
pub const AUDIT_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe finding wins, in
the order CRITICAL, WARNING, UNKNOWN; INFO findings change nothing):
  0  OK        no finding, or only INFO ones (pgaudit not loaded, ...)
  1  WARNING   a weakness: TLS 1.2 allowed, md5, logging off, a wide
               password-type pg_hba.conf range, a certificate of a NOLOGIN role
  2  CRITICAL  a hole: ssl = off on TCP, trust or cleartext passwords from the
               network, the server CA trusted for client logins, a stale CRL,
               a certificate of a role that does not exist
  3  UNKNOWN   a target could not be read (unreachable, login refused, a
               configuration PostgreSQL would refuse, an include loop), or a
               part of it was not readable by the audit role

Every check id and its severity: docs/audit.md.";

/// `pgca agent`'s exit status (with --once; without it, the agent runs until stopped).
pub const AGENT_EXIT_CODES: &str = "\
Exit status with --once (the Nagios plugin convention):
  0  OK        not due (bundles and CRL refreshed if they changed), or renewed,
               installed, reloaded and served
  1  WARNING   due and the CA could not be reached, or the server does not
               serve the certificate installed (renewed, or reloaded again)
  2  CRITICAL  expired and not renewed, or the CA refused the renewal
               (revoked, superseded, expired past the grace)
  3  UNKNOWN   not due, and the CA could not be asked for bundles and CRLs
Without --once the agent runs until stopped: after a round that is not OK, or
a failure that is not a finding (the certificate in use cannot be read, the
reload fails, said on stderr), it tries again after 5 s, doubling to 10 min.
With --once such a failure exits with status 1.";
