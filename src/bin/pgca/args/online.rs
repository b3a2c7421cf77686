//! `pgca token` (and, as they land, `serve`, `enroll`, `agent`): online enrollment.

use clap::Args;

use super::Report;

/// `pgca token`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("kind").required(true).args(["server", "client"])))]
pub struct TokenArgs {
    /// The server's host names (the certificate carries those its request asks for), or the
    /// roles (one token each)
    #[arg(value_name = "NAME", required = true)]
    pub names: Vec<String>,

    /// A token enrolling a server certificate
    #[arg(long)]
    pub server: bool,

    /// Tokens enrolling client certificates, one per role
    #[arg(long)]
    pub client: bool,

    /// How long the token is accepted (at most 7d)
    #[arg(long, value_name = "DUR", default_value = "15m")]
    pub ttl: String,

    /// The validity of the certificate it enrolls
    #[arg(long, value_name = "DUR", default_value = "365d")]
    pub validity: String,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// The address to listen on (port 0: a free port, printed at start)
    #[arg(long, value_name = "ADDR:PORT")]
    pub listen: String,

    /// The server certificate (of this CA directory) to serve TLS with: its first host name
    #[arg(long, value_name = "NAME")]
    pub tls_name: String,

    /// Renew a certificate for the key it already certifies [default: a new key each time]
    #[arg(long)]
    pub allow_same_key: bool,

    /// How long after its end an expired certificate may still renew itself [default: none]
    #[arg(long, value_name = "DUR")]
    pub grace: Option<String>,

    /// The largest request body accepted, in bytes
    #[arg(long, value_name = "BYTES", default_value = "65536")]
    pub max_body: usize,

    /// How long a client may take for its TLS handshake, a request's headers (or idling
    /// between requests) and its body; a slower one is dropped
    #[arg(long, value_name = "DUR", default_value = "10s")]
    pub client_timeout: String,

    /// Connections open at once
    #[arg(long, value_name = "N", default_value = "512")]
    pub max_connections: usize,

    /// Requests per minute per token or certificate
    #[arg(long, value_name = "N", default_value = "120")]
    pub rate: u32,

    /// Append the request log (one JSON line per request, one per reload of the TLS
    /// configuration: "event":"tls-reloaded" or "tls-reload-failed", and with --inventory one
    /// per new reason the CA files could not follow the database: "follow-failed") here
    /// instead of stderr
    #[arg(long, value_name = "FILE")]
    pub log: Option<std::path::PathBuf>,
}

/// `pgca enroll`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("what").required(true).args(["server", "client"])))]
#[command(group(clap::ArgGroup::new("where").required(true).args(["data_dir", "to"])))]
pub struct EnrollArgs {
    /// The CA service (pgca serve): https://HOST:PORT
    #[arg(long, value_name = "URL")]
    pub ca: String,

    /// The server CA's SHA-256 fingerprint, as `pgca inspect DIR/server-ca.crt` prints it on
    /// the CA host: the CA's identity is checked against it before anything is sent
    #[arg(long, value_name = "SHA256")]
    pub fingerprint: String,

    /// The file holding the enrollment token (pgca token), by the 0600 rule; else
    /// $PGCA_TOKEN_FILE. Never on the command line: argv is visible to every user
    #[arg(long, value_name = "FILE", env = "PGCA_TOKEN_FILE")]
    pub token_file: std::path::PathBuf,

    /// Enroll a server certificate for these host names (the first is the CN)
    #[arg(long, value_name = "NAME", num_args = 1..)]
    pub server: Vec<String>,

    /// Enroll a client certificate for this role
    #[arg(long, value_name = "ROLE")]
    pub client: Option<String>,

    /// Deploy the server certificate into this data directory (as deploy-server --cert)
    #[arg(long, value_name = "DIR", requires = "server")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Install the client certificate into this directory (as client-install --cert --to)
    #[arg(long, value_name = "DIR", requires = "client")]
    pub to: Option<std::path::PathBuf>,

    /// Owner of the installed files (default: the data directory's owner, or you)
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// The new key's type
    #[arg(long, value_name = "TYPE", default_value = "ecdsa-p256")]
    pub key_type: String,

    #[command(flatten)]
    pub out: Report,
}

/// `pgca agent`.
#[derive(Debug, Args)]
#[command(group(clap::ArgGroup::new("where").required(true).args(["data_dir", "to"])))]
pub struct AgentArgs {
    /// The CA service (pgca serve): https://HOST:PORT
    #[arg(long, value_name = "URL")]
    pub ca: String,

    /// Keep the server certificate of this data directory current (enrolled with pgca enroll)
    #[arg(long, value_name = "DIR")]
    pub data_dir: Option<std::path::PathBuf>,

    /// Keep the client certificate in this directory current (enrolled with pgca enroll --to)
    #[arg(long, value_name = "DIR")]
    pub to: Option<std::path::PathBuf>,

    /// Owner of the installed files (default: the data directory's owner, or you)
    #[arg(long, value_name = "USER")]
    pub owner: Option<String>,

    /// How PostgreSQL is told: pg_ctl (pg_ctl reload -D DIR as the directory's owner), sql
    /// (SELECT pg_reload_conf() over --reload-conninfo), none, or a shell command
    /// (PGCA_DATA_DIR and PGCA_SERIAL set)
    #[arg(long, value_name = "pg_ctl|sql|none|CMD", default_value = "pg_ctl")]
    pub reload: String,

    /// For --reload sql: a libpq connection string, URI or service=NAME (no password in it:
    /// use a passfile or a service file); empty, the PG* environment. The role needs only
    /// GRANT EXECUTE ON FUNCTION pg_reload_conf() TO it
    #[arg(long, value_name = "CONNINFO", default_value = "")]
    pub reload_conninfo: String,

    /// The pg_ctl to run for --reload pg_ctl
    #[arg(long, value_name = "PATH", default_value = "pg_ctl")]
    pub pg_ctl: std::path::PathBuf,

    /// Where to check that the reloaded server serves the new certificate [default:
    /// 127.0.0.1 and the data directory's port]
    #[arg(long, value_name = "HOST:PORT")]
    pub probe: Option<String>,

    /// One round, then exit with the Nagios status (for cron)
    #[arg(long)]
    pub once: bool,

    /// Renew now, due or not
    #[arg(long)]
    pub force: bool,

    /// The bound on each request to the CA
    #[arg(long, value_name = "DUR", default_value = "30s")]
    pub timeout: String,

    /// The new key's type
    #[arg(long, value_name = "TYPE", default_value = "ecdsa-p256")]
    pub key_type: String,

    #[command(flatten)]
    pub out: Report,
}
