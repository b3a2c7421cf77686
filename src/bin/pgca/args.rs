//! The command line: clap definitions only, and [`command`], the one `clap::Command` that
//! parsing, `--help`, completions and man pages all use. The commands turn them into library
//! calls.
//!
//! Names, durations and key types are taken as plain strings and checked by the library, so that
//! a bad value gets pgca's one-line message and exit status 1, while exit status 2 stays what
//! it means for every tool: the command line itself was malformed.
//!
//! This file holds the top of the command line: [`Cli`] (the global options), [`Command`] (every
//! subcommand and its `--help` text) and the `-q`/`--json` options most commands share
//! ([`Quiet`], [`Report`]). Each command group's arguments are a file in `args/`, named as in
//! `commands/`; the exit-status blocks are `args/exit.rs`.

use std::path::PathBuf;

use clap::{Args, CommandFactory, Parser, Subcommand};

// A file per command group, as commands/ has. examples/man.rs includes this file through a
// directory module so that these resolve there as in the binary.
mod audit;
mod completions;
mod conninfo;
mod csr;
mod deploy;
mod exit;
mod export;
mod host;
mod hsm;
mod init;
mod inspect;
mod inventory;
mod issue;
mod monitor;
mod online;
mod passwd;
mod probe;
mod renew;
mod repair;
mod revoke;
mod rollover;
mod service;
pub use audit::*;
pub use completions::*;
pub use conninfo::*;
pub use csr::*;
pub use deploy::*;
pub use export::*;
pub use host::*;
pub use hsm::*;
pub use init::*;
pub use inspect::*;
pub use inventory::*;
pub use issue::*;
pub use monitor::*;
pub use online::*;
pub use passwd::*;
pub use probe::*;
pub use renew::*;
pub use repair::*;
pub use revoke::*;
pub use rollover::*;
pub use service::*;

use exit::{
    AGENT_EXIT_CODES, AUDIT_EXIT_CODES, CHECK_EXIT_CODES, CLIENT_INSTALL_EXIT_CODES,
    COMMAND_EXIT_CODES, DEPLOY_SERVER_EXIT_CODES, EXIT_CODES, PROBE_EXIT_CODES, RENEW_EXIT_CODES,
    VERIFY_EXIT_CODES,
};

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

    /// Keep the inventory in the PostgreSQL database CONNINFO (a postgresql:// URI, key=value
    /// pairs or service=NAME, read as libpq reads them; its pgca schema is created and migrated
    /// on first use) instead of DIR/inventory.jsonl. Passwords come from ~/.pgpass or a service
    /// file, never the string. Load it with `inventory import`; see docs/fleet.md
    #[arg(
        long,
        global = true,
        env = "PGCA_INVENTORY",
        value_name = "CONNINFO",
        hide_env_values = true
    )]
    pub inventory: Option<String>,

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

    /// Audit a server's connection security: settings, pg_hba.conf and certificates
    ///
    /// The hardening checklist of PostgreSQL's security guides, and the certificate side no
    /// settings scanner sees: listen_addresses; ssl on with TLS 1.3; ssl_ca_file a client CA
    /// (never the server CA); the server certificate chaining to the server CA; its key by
    /// PostgreSQL's rule; CRLs present and current; pg_hba.conf lines with trust, cleartext or
    /// md5 passwords, ident over TCP, wide ranges, `all all`, superusers from the network,
    /// shadowed lines, missing ident maps; password_encryption; log_connections,
    /// log_disconnections, log_statement; pgaudit; what the server serves (probe); client
    /// certificates against the roles that exist. A live target is read from pg_settings,
    /// pg_hba_file_rules, pg_ident_file_mappings and pg_roles: a superuser, or a role granted
    /// pg_read_all_settings and SELECT on those views. An offline target (a data directory or
    /// postgresql.conf) is read by PostgreSQL's own rules, includes and postgresql.auto.conf
    /// too. A certificate is a credential: `hostssl all all 0.0.0.0/0 cert` is fine. Every check
    /// has a stable id and a fixed severity (docs/audit.md). Nothing secret is printed.
    #[command(after_help = AUDIT_EXIT_CODES)]
    Audit(AuditArgs),

    /// Reconcile client certificates with the roles of a running server
    ///
    /// Each current client certificate against pg_roles: a role that does not exist
    /// (CRITICAL: a role created later with that name would accept it), NOLOGIN, superuser,
    /// replication, VALID UNTIL passed; a CN that reaches a role only through a pg_ident.conf
    /// map; each LOGIN role that pg_hba.conf lets in only by certificate and that has none.
    /// --revoke-orphans revokes the orphans' certificates, writes the client CRL and deploys it
    /// (reload PostgreSQL after); --issue-missing issues the missing ones.
    #[command(after_help = AUDIT_EXIT_CODES)]
    Roles(RolesArgs),

    /// Renew due certificates, deploy renewed server certificates again, run a hook (for cron)
    ///
    /// Same subject, SANs, usage, key type and lifetime; a new serial and (unless --reuse-key) a
    /// new key; certificate and key switch together, NAME.prev keeps the replaced pair. Nothing
    /// due: no output with --quiet, exit 0. Renewed: a line each, exit 0. Any failure: exit 1,
    /// the rest still renewed. One renewal runs at a time; a second waits. A key made elsewhere
    /// (pgca sign) stays on its host: its recorded public key is signed again. A certificate
    /// issued online (pgca serve) is left to its host's pgca agent, and reported when due.
    #[command(after_help = RENEW_EXIT_CODES)]
    Renew(RenewArgs),

    /// Mint a single-use enrollment token for `pgca enroll` on a database or client host
    ///
    /// The token is bound to its kind and names: --server NAME... enrolls one server
    /// certificate carrying any of those host names; --client ROLE... prints one token per role.
    /// It is accepted once, until --ttl (15 minutes by default, at most 7 days), and the
    /// certificate it enrolls is valid for --validity. The inventory keeps only its SHA-256.
    /// Printed alone, one token a line:
    ///   TOKEN=$(pgca token db1.example.com --server)
    #[command(verbatim_doc_comment)]
    Token(TokenArgs),

    /// Serve the online API: enrollment with a token, renewal with the current certificate
    ///
    /// HTTPS on --listen, TLS 1.3 with the server certificate --tls-name (issue-server it
    /// first); the API is docs/openapi.json, also at GET /v1/openapi.json:
    ///   POST /v1/sign    a CSR and an enrollment token (pgca token)
    ///   POST /v1/renew   a CSR, with the current certificate over mutual TLS
    ///   GET  /v1/roots, /v1/crl/server, /v1/crl/client, /v1/health
    /// The CA passphrase is read once, at start. Every request is one JSON line on stderr (or
    /// --log FILE), never a secret. Runs until stopped; cron's pgca renew on the same directory
    /// shares its lock.
    #[command(verbatim_doc_comment)]
    Serve(ServeArgs),

    /// Enroll this host with pgca serve: a key made here, a certificate by token, installed
    ///
    /// The CA's identity is checked against --fingerprint (the server CA's SHA-256, as
    /// `pgca inspect DIR/server-ca.crt` prints it on the CA host) before anything is sent.
    /// The key never leaves this host. A server certificate is deployed into --data-dir as
    /// deploy-server --cert deploys one (with the client CA and its CRL); a client
    /// certificate is installed into --to as client-install --cert installs one. Then run
    /// pgca agent to keep it current.
    #[command(verbatim_doc_comment)]
    Enroll(EnrollArgs),

    /// Keep an enrolled certificate current: renew at 2/3 of its life, install, reload, probe
    ///
    /// Each round refreshes the trust bundles and the client CA's CRL from the CA and, when the
    /// certificate is due (two thirds of its life, give or take a twelfth; --force: now),
    /// renews it over mutual TLS with a new key, installs it atomically, reloads PostgreSQL
    /// and probes it until it serves the new serial. --once: one round, Nagios exit status
    /// (for cron or a systemd timer); otherwise rounds until stopped, backing off while the CA
    /// cannot be reached.
    #[command(verbatim_doc_comment, after_help = AGENT_EXIT_CODES)]
    Agent(AgentArgs),

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

    /// Replace the server CA or the client CA without an outage: start, switch, finish
    ///
    /// A rollover has three phases, each followed by `pgca renew` (which deploys, installs and
    /// runs your reload hook) and a wait until every peer has reloaded:
    ///   pgca rollover start client     # phase 1: every trust file holds the old and new CA
    ///   pgca rollover switch client    # phase 2: the new CA signs; old certificates are due
    ///   pgca rollover finish client    # phase 3: refused while anything is on the old CA
    /// `pgca rollover start SIDE --now` is for a compromised CA: phases 1 and 2 at once.
    /// `pgca rollover status` says where each side stands. See docs/rollover.md.
    #[command(subcommand, verbatim_doc_comment)]
    Rollover(RolloverCommand),

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

    /// The inventory as one portable file, and back: inventory export FILE, inventory import FILE
    ///
    /// The file is a header line (format, record count, SHA-256 of the record lines) and every
    /// committed record, one JSON object per line, as the inventory holds them: a copy to keep,
    /// to compare (the same inventory exports to the same bytes) or to move the inventory, from
    /// a CA directory into PostgreSQL (--inventory) or back.
    #[command(subcommand)]
    Inventory(InventoryCommand),

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
    /// beside ROLE.key, which conninfo writes first (0600, from the current key; renew writes it
    /// again, issue-client --force does not); asyncpg, psycopg: Python that connects (run it as is, or import
    /// connect()); node: a node-postgres config module; npgsql: a connection string; go: a pgx
    /// connection string as a Go literal.
    Conninfo(ConninfoArgs),

    /// Print a shell completion script: bash, zsh, fish, elvish or powershell
    ///
    /// bash:  pgca completions bash > /etc/bash_completion.d/pgca
    /// zsh:   pgca completions zsh > "${fpath[1]}/_pgca"
    /// fish:  pgca completions fish > ~/.config/fish/completions/pgca.fish
    #[command(verbatim_doc_comment)]
    Completions(CompletionsArgs),
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
