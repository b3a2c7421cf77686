//! `pgca init`: the server CA and the client CA, and with `--server-host` a first server
//! certificate; the CA keys encrypted with a passphrase, left unencrypted, or made in a PKCS#11
//! token.

use pgca::{CaDir, Error, HostName, InitOptions, KeyType, Result, Side, Validity};

use super::{Context, parse_all, parse_opt};
use crate::args::InitArgs;
use crate::render::{self, Format};

/// `pgca init`.
pub fn init(ctx: &Context, a: &InitArgs) -> Result<()> {
    if ctx.inventory.is_some() {
        super::usage_error(
            "init writes the new CA's inventory to DIR/inventory.jsonl: run it without \
             --inventory (and PGCA_INVENTORY unset), then move the inventory into the database \
             with `pgca inventory export FILE` and `pgca --inventory CONNINFO inventory import FILE`",
        );
    }
    let dir = ctx.dir()?;
    // Check every value before anything is created.
    let hosts = parse_all::<HostName>(&a.server_hosts)?;
    let key_type = parse_opt::<KeyType>(&a.key_type)?.unwrap_or_default();
    // Unset stays None: the library fills in the defaults and says which it used.
    let ca_validity = parse_opt::<Validity>(&a.ca_validity)?;
    let validity = parse_opt::<Validity>(&a.validity)?;
    let mut opts = InitOptions::default();
    opts.org = a.org.clone();
    opts.key_type = key_type;
    opts.ca_validity = ca_validity;
    opts.server_hosts = hosts.clone();
    opts.server_validity = validity;
    opts.intermediate = a.intermediate;
    if let Some(uri) = super::hsm::token(&a.pkcs11)? {
        opts.passphrase = Some(super::hsm::pin(&ctx.sources, &uri.token)?);
        opts.token = Some(uri);
    } else if !a.no_passphrase {
        let p = ctx
            .sources
            .get("new passphrase for the CA keys", true)?
            .ok_or(Error::NoPassphraseForInit)?;
        opts.passphrase = Some(p);
    }
    let (ca, server) = CaDir::init_with_server(&dir, &opts)?;
    let mut cas = Vec::new();
    for side in Side::BOTH {
        let info = ca.ca_info(side)?;
        cas.push((side, ca.ca_cert_path(side), info.not_after));
    }
    render::print(
        Format::of(&a.out),
        || render::init_text(&cas, server.as_ref().map(|issued| (issued, &hosts[..]))),
        || render::init_json(&cas, server.as_ref()),
    );
    Ok(())
}
