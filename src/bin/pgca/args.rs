//! The command line: clap definitions only, and [`command`], the one `clap::Command` that
//! parsing, `--help`, completions and man pages all use. The commands turn them into library
//! calls.
//!
//! Names, durations and key types are taken as plain strings and checked by the library, so that
//! a bad value gets pgca's one-line message and exit status 1, while exit status 2 stays what
//! it means for every tool: the command line itself was malformed.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

// The clap structs of the newer command groups, a file each (args/). examples/man.rs includes
// this file through a directory module so that these resolve there as in the binary.
mod csr;
mod host;
mod hsm;
mod repair;
pub use csr::*;
pub use host::*;
pub use hsm::*;
pub use repair::*;

// The exit-status blocks: a heading at the margin, a code and its meaning indented by two,
// continuation lines under the meaning; no line over 79 columns, so that clap (which wraps to
// the terminal) never breaks one on an 80-column terminal. Every command shows one.

const EXIT_CODES: &str = "\
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
~/.local/share/pgca.";

/// What every command without a block of its own shows.
const COMMAND_EXIT_CODES: &str = "\
Exit status:
  0  success
  1  failure, one line on stderr
  2  usage error: unknown option, missing argument";

const CHECK_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe finding wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        nothing due
  1  WARNING   a certificate due for renewal, or a CA due for rollover
  2  CRITICAL  a certificate expired or not yet valid, a key that does not
               match its certificate, a certificate file that is not the one
               the inventory records, a CA that expires before a certificate
               it signed
  3  UNKNOWN   the directory or a file could not be read, or is corrupt";

const PROBE_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe target wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        every server serves its current certificate, valid for the name
  1  WARNING   renewed but not reloaded (serves an older serial than the
               inventory's current one), due for renewal, TLS 1.2 only
  2  CRITICAL  expired, does not chain to the server CA, name mismatch, no TLS
               (ssl = off), the TLS handshake failed
  3  UNKNOWN   connection refused, no answer within --timeout, not
               PostgreSQL, or the CA directory cannot be read";

const VERIFY_EXIT_CODES: &str = "\
Exit status (the Nagios plugin convention; the most severe problem wins, in
the order CRITICAL, WARNING, UNKNOWN):
  0  OK        no problem found
  1  WARNING   leftovers of an interrupted write, a deployed copy that is not
               current, a CA directory mode other than 0700
  2  CRITICAL  a key that does not match its certificate, a broken chain or
               usage, a key file others can read, a CRL that does not verify
  3  UNKNOWN   the directory, a certificate, a key or a CRL cannot be read";

const RENEW_EXIT_CODES: &str = "\
Exit status:
  0  success: renewed what was due, or nothing was due
  1  failure: a line on stderr for each; the rest was still renewed, and a
     failed hook does not undo the renewal
  2  usage error: unknown option, missing argument";

/// The command line as clap sees it: the derived definitions, with the exit-status block on
/// every subcommand that has none of its own. Parsing, `--help`, `pgca completions` and the
/// man pages (`examples/man.rs`, which includes this file) all come from here.
pub fn command() -> clap::Command {
    fn with_exit_codes(cmd: clap::Command) -> clap::Command {
        let cmd = cmd.mut_subcommands(with_exit_codes);
        if cmd.get_after_help().is_some() || cmd.has_subcommands() {
            cmd
        } else {
            cmd.after_help(COMMAND_EXIT_CODES)
        }
    }
    Cli::command().mut_subcommands(with_exit_codes)
}

/// Parses the command line; a usage error exits with status 2 here.
pub fn parse() -> Cli {
    use clap::FromArgMatches;
    Cli::from_arg_matches(&command().get_matches()).unwrap_or_else(|e| e.exit())
}

const KEY_TYPES: &str = "ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096";

/// pgca: a certificate authority for PostgreSQL TLS.
///
/// Creates a server CA (clients trust it with sslrootcert and sslmode=verify-full)
/// and a separate client CA (the server trusts it with ssl_ca_file), then issues
/// server certificates for host names and client certificates whose CN is the
/// PostgreSQL role, for pg_hba.conf's `cert` method.
///
/// Typical start:
///   pgca init --server-host db.example.com
///   pgca issue-client alice
///   pgca list
#[derive(Debug, Parser)]
#[command(name = "pgca", version, verbatim_doc_comment, after_help = EXIT_CODES, max_term_width = 100)]
pub struct Cli {
    /// The CA directory (created by `init`, mode 0700)
    #[arg(long, global = true, env = "PGCA_DIR", value_name = "DIR")]
    pub dir: Option<PathBuf>,

    /// Read the CA keys' passphrase (or, for keys in a PKCS#11 token, its user PIN) from FILE
    /// (first line; root's or yours, mode 0600); else $PGCA_PASSPHRASE_FILE (the same), else
    /// $PGCA_PASSPHRASE (less safe), else a prompt on a terminal
    #[arg(long, global = true, value_name = "FILE")]
    pub passphrase_file: Option<PathBuf>,

    /// Wait at most DUR for another pgca process's lock on the CA directory or a data
    /// directory, then fail (check and verify: UNKNOWN) [default: 5s for check, verify and
    /// list; 5m for commands that write]
    #[arg(long, global = true, value_name = "DUR")]
    pub wait: Option<String>,

    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the server CA and the client CA (and, with --server-host, a server certificate)
    ///
    /// Writes DIR/server-ca.crt, DIR/server-ca.key, DIR/client-ca.crt, DIR/client-ca.key (keys
    /// mode 0600) and DIR/inventory.jsonl. Refuses a directory that already holds a CA.
    ///
    /// With --pkcs11-token, both CA keys are generated inside that PKCS#11 token (an HSM, a
    /// cloud KMS, SoftHSM2; ecdsa-p256, ecdsa-p384 or rsa) and never leave it:
    /// DIR/server-ca.pkcs11 and DIR/client-ca.pkcs11 (RFC 7512 URIs, no secret) replace the key
    /// files; every signing command logs in with the token's user PIN, read like the
    /// passphrase, and the token signs.
    Init(InitArgs),

    /// Issue a server certificate: CN = the first NAME, every NAME a subject alternative name
    ///
    /// Writes DIR/servers/NAME.crt and DIR/servers/NAME.key (EKU serverAuth). Give every name
    /// clients use in `host=`: DNS names (a leading `*.` wildcard allowed) and IP addresses.
    /// A name over 64 characters (RFC 5280's limit for a CN) is only a SAN: the CN is the first
    /// NAME that fits, and there is none when no NAME does.
    IssueServer(IssueServerArgs),

    /// Issue client certificates whose CN is the PostgreSQL role
    ///
    /// Writes DIR/clients/ROLE.crt and DIR/clients/ROLE.key (EKU clientAuth) for each ROLE.
    /// Several roles in one call are issued as one batch: all or, on bad input, none.
    IssueClient(IssueClientArgs),

    /// Make a key and a certificate signing request on this host, for `pgca sign` on the CA host
    ///
    /// Needs no CA directory: run it on the database host (--server) or the client machine
    /// (--client). Writes DIR/NAME.key (mode 0600 from the first byte) and DIR/NAME.csr
    /// (PKCS#10, PEM), NAME being the first name; only the request travels, the key stays here.
    /// Names are checked as issue-server and issue-client check them.
    Request(RequestArgs),

    /// Sign a certificate signing request: a certificate for a key made elsewhere
    ///
    /// Verifies the request's signature and takes only its public key and its names; the
    /// certificate gets pgca's profile, never the request's extensions (a request for CA:TRUE,
    /// key usages or other extensions is signed as a plain leaf). --server: the names are the
    /// subject's CN and the request's DNS and IP subject alternative names, each checked as a
    /// host name (one invalid name refuses the request); e-mail, URI and other names are
    /// ignored. --client: the name is the CN, checked as a role; every subject alternative name
    /// is ignored. Writes DIR/servers/NAME.crt or DIR/clients/ROLE.crt and records it in the
    /// inventory with an external key: its public key, no private key. `renew` signs that public
    /// key again; a key whose certificate was revoked is never signed again.
    ///
    /// FILE is read like deploy-server's --cert: a regular file of at most 1 MiB, never a FIFO
    /// or device, and no symbolic link another user owns. A request for more than 100 subject
    /// alternative names is refused, and so is a key nobody should trust, before its signature
    /// is looked at: an Ed25519 point of small order (anyone can sign for it) or not canonically
    /// encoded, an EC point that is not on its curve, an RSA key under 2048 bits, with an even
    /// modulus or a prime factor below 65536, or a public exponent below 65537 (renew checks a
    /// recorded key the same way).
    Sign(SignArgs),

    /// List every certificate in the inventory: kind, name, serial, expiry, days left, state
    ///
    /// States: valid; due (less than a third of its lifetime left); expired; not-yet-valid;
    /// superseded (a newer certificate of the same name exists). "(external key)": signed from a
    /// request (pgca sign), its key is on its host.
    List(ListArgs),

    /// Show a certificate file: subject, SANs, issuer, serial, validity, key, usages, fingerprint
    ///
    /// A CRL file is shown as a CRL. Control characters a certificate's names hold (terminal
    /// escape sequences, line breaks) are printed escaped, as `\x1b` or `\n`; `--json` gives the
    /// values as they are, in JSON's escapes.
    Inspect(InspectArgs),

    /// Change the passphrase of the CA keys (both, or the server or client CA's)
    ///
    /// The current passphrase comes from --passphrase-file, the environment or a prompt; the new
    /// one from --new-passphrase-file or a prompt (asked twice). Each key file is replaced in one
    /// rename: the old file stays until the new one is complete.
    Passwd(PasswdArgs),

    /// Check every certificate and both CAs for expiry; changes nothing (for monitoring)
    ///
    /// Due: less than a third of a certificate's lifetime left (or less than --within); a CA
    /// once it expires within a year, before a freshly issued 1-year certificate would. Reads
    /// the certificates on disk, and checks each key against its certificate (the public key
    /// the key file records, as OpenSSL does when PostgreSQL loads it; pgca verify goes further).
    #[command(after_help = CHECK_EXIT_CODES)]
    Check(CheckArgs),

    /// Check the whole CA directory and every deployment; report every problem (a doctor)
    ///
    /// Each key matches its certificate; each certificate chains to its CA with the right EKU;
    /// key files are 0600 (deployed: PostgreSQL's rule); the inventory agrees with the files; the
    /// CRLs verify; deployed copies are current; no leftovers. Changes nothing. Encrypted CA keys
    /// are checked only when a passphrase file or variable is given (verify never prompts).
    #[command(after_help = VERIFY_EXIT_CODES)]
    Verify(VerifyArgs),

    /// Connect to running servers and check the certificate they serve (for monitoring)
    ///
    /// Sends PostgreSQL's SSLRequest, completes a TLS handshake (presenting no client
    /// certificate) and reports the TLS version, cipher suite and served chain; whether it
    /// chains to the server CA, is valid for HOST by libpq's rules (verify-full) and is the
    /// inventory's current certificate (if not: renewed but not reloaded); whether the server
    /// asks for a client certificate, and from which CAs. Targets are probed 8 at a time.
    #[command(after_help = PROBE_EXIT_CODES)]
    Probe(ProbeArgs),

    /// Renew due certificates, deploy renewed server certificates again, run a hook (for cron)
    ///
    /// Same subject, SANs, usage, key type and lifetime; a new serial and (unless --reuse-key) a
    /// new key; certificate and key switch together, NAME.prev keeps the replaced pair. Nothing
    /// due: no output with --quiet, exit 0. Renewed: a line each, exit 0. Any failure: exit 1,
    /// the rest still renewed. One renewal runs at a time; a second waits. A key made elsewhere
    /// (pgca sign) stays on its host: its recorded public key is signed again.
    #[command(after_help = RENEW_EXIT_CODES)]
    Renew(RenewArgs),

    /// Revoke a certificate (by name or serial) and write its CA's CRL
    ///
    /// By name, the current certificate of that name (--all: every one). The CRL
    /// (DIR/client-ca.crl or DIR/server-ca.crl) lists every revoked certificate of the CA; the
    /// client CA's is deployed again to every deploy-server target: reload PostgreSQL to
    /// enforce it. From then on the CRL must stay current (pgca check, pgca renew).
    Revoke(RevokeArgs),

    /// Write both CRLs afresh (v2, next CRL number, nextUpdate 30 days on by default)
    ///
    /// nextUpdate is never after the CA certificate's not-after: a longer period is cut to it,
    /// with a note saying so (revoke and renew do the same).
    Crl(CrlArgs),

    /// Rebuild a damaged inventory from what the CA directory shows was done
    ///
    /// A damaged inventory (cut short, emptied, an older copy put back, a corrupt line) is
    /// refused by every command. repair keeps the longest part that reads and records again
    /// what the archive (servers/archive, clients/archive), the CA certificates and the CRLs
    /// show was done after it: certificates, revocations, CRL numbers, so a revoked certificate
    /// stays revoked and the next CRL's number is higher. Without --write it only shows what it
    /// would add. Deployments made after the damage are recorded again by deploying again.
    Repair(RepairArgs),

    /// Print the postgresql.conf and pg_hba.conf lines for TLS with a server certificate
    ///
    /// Without --data-dir, paths are relative to the data directory, where deploy-server puts
    /// the files; with it, absolute.
    ServerConfig(ServerConfigArgs),

    /// Install a server certificate, its key and the client CA into a PostgreSQL data directory
    ///
    /// Writes DATA/pgca-tls/ (key 0600, everything owned by the database user, certificate and
    /// key switched together in one rename) and DATA/pgca_ssl.conf, to be included from
    /// postgresql.conf with include_if_exists. The deployment is recorded: renewal repeats it.
    /// Reload PostgreSQL afterwards (pg_ctl reload, or SELECT pg_reload_conf()).
    ///
    /// On a database host without the CA directory, give the files instead of NAME: the key made
    /// there (pgca request), the certificate and client CA the CA host sent back:
    ///   pgca deploy-server --cert db.crt --key db.key --ca-file client-ca.crt --data-dir DATA
    /// They are checked before anything is written (the key is the certificate's, a server
    /// certificate valid now, a CA file); nothing is recorded, and renewal does not repeat it.
    #[command(
        after_help = DEPLOY_SERVER_EXIT_CODES,
        verbatim_doc_comment,
        override_usage = DEPLOY_SERVER_USAGE
    )]
    DeployServer(DeployServerArgs),

    /// Copy a role's certificate, key and the server CA to libpq's defaults in ~/.postgresql
    ///
    /// postgresql.crt, postgresql.key (0600) and root.crt: then sslmode=verify-full needs no
    /// other connection option. The key also goes to postgresql.pk8 (0600, PKCS#8 DER), the
    /// default of pgjdbc, which cannot read PEM. Existing files are replaced only with --force.
    ///
    /// On a client host without the CA directory, give the files instead of ROLE: the key made
    /// there (pgca request), the certificate and server CA the CA host sent back:
    ///   pgca client-install --cert alice.crt --key alice.key --root server-ca.crt
    /// They are checked before anything is written (the key is the certificate's, a client
    /// certificate valid now whose CN is the role, a CA file).
    #[command(
        after_help = CLIENT_INSTALL_EXIT_CODES,
        verbatim_doc_comment,
        override_usage = CLIENT_INSTALL_USAGE
    )]
    ClientInstall(ClientInstallArgs),

    /// Write a certificate and key in another format: pem, pk8, p12, k8s or cnpg
    ///
    /// pem: a directory PATH/ with NAME.crt, NAME.key (0600) and ca.crt, the CA the peer is
    ///   checked against (a client's: the server CA, its sslrootcert; a server's: the client
    ///   CA, its ssl_ca_file).
    /// pk8: the key as PKCS#8 DER (pgjdbc's sslkey), 0600; an encrypted key stays encrypted.
    /// p12: PKCS#12 (0600) with the key, the certificate and its CA; PBES2 (PBKDF2-SHA256,
    ///   AES-256-CBC) and an HMAC-SHA256 MAC, as OpenSSL 3 writes: Java 17 (keytool, pgjdbc)
    ///   and .NET read it. The password comes from --key-passphrase-file or a prompt.
    /// k8s: a Secret of type kubernetes.io/tls (YAML, 0600): tls.crt, tls.key, and ca.crt as
    ///   for pem.
    /// cnpg: for a server NAME, the Secrets CloudNativePG takes for its own certificates:
    ///   PREFIX-server (kubernetes.io/tls), PREFIX-server-ca and PREFIX-client-ca (ca.crt
    ///   only, never a CA key), PREFIX-replication: a streaming_replica client certificate,
    ///   the current one, else one issued now (signed by the client CA).
    ///
    /// A revoked or expired certificate is not exported; p12, k8s and cnpg need a key without
    /// a passphrase. PATH is replaced only with --force, and its directory must exist.
    #[command(verbatim_doc_comment)]
    Export(ExportArgs),

    /// Add, remove, list or show pg_service.conf entries for verify-full connections
    ///
    /// The file is --file, else $PGSERVICEFILE, else ~/.pg_service.conf: the order libpq uses.
    /// (libpq also reads $PGSYSCONFDIR/pg_service.conf, but only for a service the user's file
    /// lacks; the two are never merged.) Everything else in the file is kept byte for byte.
    #[command(subcommand)]
    Service(ServiceCommand),

    /// Print shell export lines that point libpq at a role's certificate
    ///
    /// eval "$(pgca env alice --host db.example.com)" && psql dbname=postgres
    Env(EnvArgs),

    /// Print what a client pastes to connect as a role with verify-full: a connection string
    /// or a snippet for --driver
    ///
    /// The role's certificate and key and the server CA, as absolute paths in the CA directory,
    /// quoted for the driver's syntax. libpq: keyword/value string (psql "$(pgca conninfo ...)");
    /// uri: postgresql:// URI; jdbc: pgjdbc URL, whose sslkey is the PKCS#8 DER key ROLE.pk8
    /// beside ROLE.key (write it with pgca export or client-install); asyncpg, psycopg: Python
    /// that connects (run it as is, or import connect()); node: a node-postgres config module;
    /// npgsql: a connection string; go: a pgx connection string as a Go literal.
    Conninfo(ConninfoArgs),

    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    ///
    /// bash:  pgca completions bash > /etc/bash_completion.d/pgca
    /// zsh:   pgca completions zsh > "${fpath[1]}/_pgca"
    /// fish:  pgca completions fish > ~/.config/fish/completions/pgca.fish
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),
}

/// `pgca completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell
    #[arg(value_name = "SHELL")]
    pub shell: clap_complete::Shell,
}

/// `-q`, for every command that prints on success.
#[derive(Debug, Args)]
pub struct Quiet {
    /// Print nothing on success (a failure is still one line on stderr; the exit status tells)
    #[arg(short, long)]
    pub quiet: bool,
}

/// `-q` and `--json`, for the commands that report what they did.
#[derive(Debug, Args)]
pub struct Report {
    /// Print nothing on success (a failure is still one line on stderr; the exit status tells)
    #[arg(short, long, conflicts_with = "json")]
    pub quiet: bool,

    /// Print what was done as JSON (paths, serials, RFC 3339 times)
    #[arg(long)]
    pub json: bool,
}

/// `pgca service ...`.
#[derive(Debug, Subcommand)]
pub enum ServiceCommand {
    /// Write a service entry: host, port, user, dbname, sslmode=verify-full, sslrootcert,
    /// sslcert, sslkey (absolute paths); an existing entry is replaced only with --force
    Add(ServiceAddArgs),
    /// Remove a service entry
    Remove(ServiceNameArgs),
    /// List the services in the file
    List(ServiceListArgs),
    /// Show a service entry as libpq reads it
    Show(ServiceNameArgs),
}

/// Where the service file is.
#[derive(Debug, Args)]
pub struct ServiceFileArg {
    /// The service file [default: $PGSERVICEFILE, else ~/.pg_service.conf]
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,

    /// The user the service file is for (name or uid): directories on the way to it may be
    /// theirs, and a new file is theirs [default: the user pgca runs as]
    #[arg(long = "file-owner", value_name = "USER")]
    pub owner: Option<String>,
}

/// Connection options of a service entry.
#[derive(Debug, Args)]
pub struct ServiceConnArgs {
    /// The server's host name (one of its certificate's names)
    #[arg(long, value_name = "HOST")]
    pub host: Option<String>,

    /// The server's port
    #[arg(long, value_name = "PORT", default_value = "5432")]
    pub port: String,

    /// The database (libpq's default: the role name)
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    /// Add sslcrl with the server CA's CRL (it must exist: pgca crl), so libpq refuses a
    /// revoked server certificate
    #[arg(long)]
    pub crl: bool,

    #[command(flatten)]
    pub file: ServiceFileArg,
}

/// `pgca service add`.
#[derive(Debug, Args)]
pub struct ServiceAddArgs {
    /// The service name (psql "service=NAME")
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The role whose certificate the entry uses
    #[arg(long, value_name = "ROLE", required = true)]
    pub role: String,

    #[command(flatten)]
    pub conn: ServiceConnArgs,

    /// Replace an existing entry of that name
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca service remove` and `show`.
#[derive(Debug, Args)]
pub struct ServiceNameArgs {
    /// The service name
    #[arg(value_name = "NAME")]
    pub name: String,

    #[command(flatten)]
    pub file: ServiceFileArg,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca service list`.
#[derive(Debug, Args)]
pub struct ServiceListArgs {
    /// Print JSON instead of text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub file: ServiceFileArg,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca passwd`.
#[derive(Debug, Args)]
pub struct PasswdArgs {
    /// Which CA key: server or client [default: both]
    #[arg(value_name = "WHICH", value_parser = ["server", "client"])]
    pub which: Option<String>,

    /// Read the new passphrase from FILE (first line; root's or yours, mode 0600) instead of
    /// asking
    #[arg(long, value_name = "FILE")]
    pub new_passphrase_file: Option<PathBuf>,

    /// Store the key(s) unencrypted
    #[arg(long, conflicts_with = "new_passphrase_file")]
    pub no_passphrase: bool,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca revoke`.
#[derive(Debug, Args)]
pub struct RevokeArgs {
    /// A role, a server name, or a serial (hex, as `pgca list` shows it)
    #[arg(value_name = "NAME|SERIAL")]
    pub target: String,

    /// Why: keyCompromise, cessationOfOperation, affiliationChanged, superseded,
    /// privilegeWithdrawn, cACompromise or unspecified
    #[arg(long, value_name = "REASON", default_value = "unspecified")]
    pub reason: String,

    /// Revoke only the name's current certificate; its other unexpired certificates stay
    /// valid and are listed [default: every unexpired certificate of the name]
    #[arg(long, conflicts_with = "all")]
    pub only_current: bool,

    /// Revoke every certificate of the name, expired ones too
    #[arg(long)]
    pub all: bool,

    /// Time until the CRL's nextUpdate [default: the CRL's period so far, or 30d]
    #[arg(long, value_name = "DUR")]
    pub next_update: Option<String>,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca crl`.
#[derive(Debug, Args)]
pub struct CrlArgs {
    /// Time until nextUpdate [default: each CRL's period so far, or 30d]
    #[arg(long, value_name = "DUR")]
    pub next_update: Option<String>,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca check`.
#[derive(Debug, Args)]
pub struct CheckArgs {
    /// Due when less than DUR is left (e.g. 30d) instead of a third of the lifetime
    #[arg(long, value_name = "DUR")]
    pub within: Option<String>,

    /// Print every certificate as JSON (state, not-after, seconds left, path)
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Also write a node_exporter textfile (atomically) with expiry and state per certificate
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,

    /// Also probe this running server (repeatable): what it serves counts in the status
    #[arg(long = "probe", value_name = "HOST[:PORT]")]
    pub probes: Vec<String>,

    /// Give up on a probed server after DUR in all: resolving, connecting, SSLRequest and the
    /// TLS handshake end within it, however slowly the server answers
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub probe_timeout: String,
    /// Report a due certificate whose key was made elsewhere (pgca sign) and first certified
    /// more than DUR ago as "due: needs a new CSR": renew only re-signs such a key
    #[arg(long, value_name = "DUR")]
    pub max_key_age: Option<String>,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pgca probe`.
#[derive(Debug, Args)]
pub struct ProbeArgs {
    /// Servers to probe: HOST, HOST:PORT or [IPV6]:PORT (default port 5432)
    #[arg(value_name = "HOST[:PORT]", required = true)]
    pub targets: Vec<String>,

    /// The server name to send and to match the certificate against, instead of each HOST
    #[arg(long, value_name = "NAME")]
    pub sni: Option<String>,

    /// Give up on a target after DUR in all (e.g. 2s): resolving, connecting, SSLRequest, the TLS
    /// handshake and the --role login end within it, however slowly the server answers
    #[arg(long, value_name = "DUR", default_value = "5s")]
    pub timeout: String,

    /// Log in as ROLE with its pgca client certificate and report whether the server accepts it
    #[arg(long, value_name = "ROLE")]
    pub role: Option<String>,

    /// The database of the --role login (default postgres)
    #[arg(long, value_name = "NAME", requires = "role")]
    pub dbname: Option<String>,

    /// Start TLS at once with ALPN "postgresql" (sslnegotiation=direct, PostgreSQL 17+)
    /// instead of PostgreSQL's SSLRequest
    #[arg(long)]
    pub direct: bool,

    /// Also write a node_exporter textfile (atomically): status, served serial and expiry per
    /// target
    #[arg(long, value_name = "FILE")]
    pub prometheus: Option<PathBuf>,

    /// Print every target as JSON (TLS version, chain, findings)
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pgca verify`.
#[derive(Debug, Args)]
pub struct VerifyArgs {
    /// Print the report as JSON
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    /// Print nothing, UNKNOWN's reason on stderr: the exit status tells
    #[arg(short, long)]
    pub quiet: bool,
}

/// `pgca renew`.
#[derive(Debug, Args)]
pub struct RenewArgs {
    /// Renew only these (roles or server names)
    #[arg(value_name = "NAME")]
    pub names: Vec<String>,

    /// Due when less than DUR is left (e.g. 30d) instead of a third of the lifetime
    #[arg(long, value_name = "DUR")]
    pub within: Option<String>,

    /// Renew whether due or not
    #[arg(long)]
    pub force: bool,

    /// Keep the current key (a new certificate and serial for the same key)
    #[arg(long)]
    pub reuse_key: bool,

    /// Do not re-sign a key made elsewhere (pgca sign) first certified more than DUR ago: it
    /// fails with "needs a new CSR" (keys made elsewhere are otherwise always re-signed)
    #[arg(long, value_name = "DUR")]
    pub max_key_age: Option<String>,

    /// Also revoke each replaced certificate (reason superseded)
    #[arg(long)]
    pub revoke_old: bool,

    /// Leave the client installs (client-install: ~/.postgresql, --to DIR) as they are; by
    /// default a renewed client certificate, and the server CA's new CRL, are installed again
    /// wherever they were, for the same owner
    #[arg(long)]
    pub no_install: bool,

    /// The passphrase of encrypted client keys (issue-client --encrypt-key; first line of FILE,
    /// root's or yours, mode 0600): needed to renew them, and the new keys are encrypted with it
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Print nothing when nothing is due (renewals and failures are still printed: cron
    /// mails them)
    #[arg(long, short, conflicts_with = "json")]
    pub quiet: bool,

    /// Print what was renewed (and what failed) as JSON, also when nothing was due
    #[arg(long)]
    pub json: bool,

    /// Wait a random 0..SECS seconds first, so a fleet of cron jobs does not start at once
    #[arg(long, value_name = "SECS")]
    pub random_delay: Option<u64>,

    /// After renewing anything, run CMD with its ARGs (no shell; must come last), with
    /// PGCA_RENEWED set to the renewed certificates, one KIND/NAME a line, and PGCA_DIR;
    /// PGCA_PASSPHRASE and PGCA_PASSPHRASE_FILE are removed from its environment
    #[arg(long, value_name = "CMD", num_args = 1.., allow_hyphen_values = true)]
    pub exec: Vec<String>,
}

/// `pgca server-config`.
#[derive(Debug, Args)]
pub struct ServerConfigArgs {
    /// The server certificate's name (its first host name)
    #[arg(value_name = "NAME")]
    pub name: String,

    /// The data directory the files are deployed to (makes the paths absolute)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<PathBuf>,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca deploy-server`.
#[derive(Debug, Args)]
pub struct DeployServerArgs {
    /// The server certificate's name (its first host name)
    #[arg(value_name = "NAME", required_unless_present = "cert")]
    pub name: Option<String>,

    /// The PostgreSQL data directory
    #[arg(long, value_name = "DIR", required = true)]
    pub data_dir: PathBuf,

    /// Owner of the installed files [default: the data directory's owner, the database user]
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// Add this server to the CA directory's probes list, which `pgca check` probes
    #[arg(long, value_name = "HOST[:PORT]")]
    pub probe: Option<String>,

    #[command(flatten)]
    pub out: Report,

    #[command(flatten)]
    pub files: DeployFileArgs,
}

/// `pgca client-install`.
#[derive(Debug, Args)]
pub struct ClientInstallArgs {
    /// The role
    #[arg(value_name = "ROLE", required_unless_present = "cert")]
    pub role: Option<String>,

    /// Where to install [default: ~/.postgresql of --owner, else of $HOME]
    #[arg(long, value_name = "DIR")]
    pub to: Option<PathBuf>,

    /// The user the files are for (name or uid): they are owned by that user, and DIR must be
    /// theirs [default: the user pgca runs as]
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// Replace existing files
    #[arg(long)]
    pub force: bool,

    /// Drop the record of this install (ROLE in DIR): renew no longer installs there, check
    /// and verify no longer look at it; the files stay
    #[arg(long, conflicts_with_all = ["force", "cert"])]
    pub forget: bool,

    #[command(flatten)]
    pub out: Report,

    #[command(flatten)]
    pub files: InstallFileArgs,
}

/// `pgca export`.
#[derive(Debug, Args)]
pub struct ExportArgs {
    /// The certificate: a role or a server name
    #[arg(value_name = "NAME")]
    pub name: String,

    /// pem, pk8, p12, k8s or cnpg
    #[arg(long, value_name = "FORMAT", required = true)]
    pub format: String,

    /// The file to write (pem: the directory to create)
    #[arg(long, value_name = "PATH", required = true)]
    pub out: PathBuf,

    /// server or client, when NAME is both [default: whichever NAME is]
    #[arg(long, value_name = "KIND")]
    pub kind: Option<String>,

    /// p12: the file's password (first line of FILE, root's or yours, mode 0600) [default: a
    /// prompt, asked twice]
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// k8s, cnpg: the Secrets' namespace [default: none in the manifest]
    #[arg(long, value_name = "NS")]
    pub namespace: Option<String>,

    /// k8s: the Secret's name; cnpg: the Secrets' prefix [default: pgca-KIND-NAME, made a
    /// DNS-1123 name]
    #[arg(long = "name", id = "secret_name", value_name = "NAME")]
    pub secret_name: Option<String>,

    /// Replace an existing PATH
    #[arg(long)]
    pub force: bool,

    #[command(flatten)]
    pub out_format: Report,
}

/// `pgca env`.
#[derive(Debug, Args)]
pub struct EnvArgs {
    /// The role
    #[arg(value_name = "ROLE")]
    pub role: String,

    /// The server's host name (must be one of its certificate's names)
    #[arg(long, value_name = "HOST", required = true)]
    pub host: String,

    /// The server's port [default: libpq's, 5432]
    #[arg(long, value_name = "PORT")]
    pub port: Option<String>,

    /// The database [default: libpq's, the role name]
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca conninfo`.
#[derive(Debug, Args)]
pub struct ConninfoArgs {
    /// The role
    #[arg(value_name = "ROLE")]
    pub role: String,

    /// The server's host name (must be one of its certificate's names)
    #[arg(long, value_name = "HOST", required = true)]
    pub host: String,

    /// The server's port
    #[arg(long, value_name = "PORT", default_value = "5432")]
    pub port: String,

    /// The database [default: the role name]
    #[arg(long, value_name = "DB")]
    pub dbname: Option<String>,

    /// The client library
    #[arg(long, value_name = "DRIVER", required = true, value_parser = clap::builder::PossibleValuesParser::new(pgca::pg::conninfo::Driver::ALL.map(|d| d.name())))]
    pub driver: String,

    /// Print {"driver": ..., "text": ...} instead of the text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}

/// Options shared by the commands that issue a certificate.
#[derive(Debug, Args)]
pub struct IssueArgs {
    /// Lifetime, e.g. 90d, 1y, 12h (units s, m, h, d, w, y) [default: 1y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub validity: Option<String>,

    /// Key type: ecdsa-p256 (default), ecdsa-p384, ed25519, rsa2048, rsa3072, rsa4096
    #[arg(long, value_name = "TYPE")]
    pub key_type: Option<String>,

    /// Replace an existing certificate of the same name (the old pair stays in the archive)
    #[arg(long)]
    pub force: bool,
}

/// `pgca init`.
#[derive(Debug, Args)]
pub struct InitArgs {
    /// Also issue a server certificate for NAME (repeat for more names; the first of at most 64
    /// characters is the CN)
    #[arg(long = "server-host", value_name = "NAME")]
    pub server_hosts: Vec<String>,

    /// Key type of both CAs (and of the server certificate)
    #[arg(long, value_name = "TYPE", long_help = format!("Key type of both CAs (and of the server certificate): {KEY_TYPES}"))]
    pub key_type: Option<String>,

    /// Lifetime of both CAs [default: 10y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub ca_validity: Option<String>,

    /// Lifetime of the server certificate issued with --server-host [default: 1y]
    #[arg(long, value_name = "DUR", allow_hyphen_values = true)]
    pub validity: Option<String>,

    /// Organisation (O=) in both CA subjects
    #[arg(long, value_name = "NAME", default_value = "pgca")]
    pub org: String,

    /// Store the CA keys unencrypted (by default they are encrypted with a passphrase)
    #[arg(long)]
    pub no_passphrase: bool,

    #[command(flatten)]
    pub pkcs11: Pkcs11Args,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca issue-server`.
#[derive(Debug, Args)]
pub struct IssueServerArgs {
    /// Host names and IP addresses clients connect to
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca issue-client`.
#[derive(Debug, Args)]
pub struct IssueClientArgs {
    /// PostgreSQL role names (1-63 bytes; no control characters, invisible characters, '/',
    /// '=', quotes, backslashes, leading '-' or leading or trailing spaces)
    #[arg(value_name = "ROLE", required = true)]
    pub roles: Vec<String>,

    #[command(flatten)]
    pub issue: IssueArgs,

    /// Accept a role name PostgreSQL allows but libpq, shells or readers mishandle (a leading
    /// '-', '=', quotes, a backslash, whitespace other than a space, invisible characters such as
    /// U+200B or U+200C); bidirectional controls, control characters, '/' and leading or
    /// trailing spaces are always refused
    #[arg(long)]
    pub allow_unusual_role: bool,

    /// Also write a pg_service.conf entry NAME for the role (one role only; needs --host)
    #[arg(long, value_name = "NAME", requires = "host")]
    pub service: Option<String>,

    /// Encrypt the client key (PKCS#8, scrypt + AES-256) with its own passphrase, from
    /// --key-passphrase-file or a prompt; libpq decrypts it with sslpassword or asks for it
    #[arg(long)]
    pub encrypt_key: bool,

    /// The client key's passphrase (first line of FILE, root's or yours, mode 0600); implies
    /// --encrypt-key
    #[arg(long, value_name = "FILE")]
    pub key_passphrase_file: Option<PathBuf>,

    /// Put the key's passphrase into the service entry as sslpassword (the file is 0600)
    #[arg(long, requires = "service")]
    pub sslpassword: bool,

    #[command(flatten)]
    pub conn: ServiceConnArgs,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca list`.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Print a JSON array instead of a table
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}

/// `pgca inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// A PEM certificate file
    #[arg(value_name = "FILE")]
    pub file: PathBuf,

    /// Print JSON instead of text
    #[arg(long, conflicts_with = "quiet")]
    pub json: bool,

    #[command(flatten)]
    pub out: Quiet,
}
