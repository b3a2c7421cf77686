//! `deploy-server --cert --key --ca-file` and `client-install --cert --key --root`: installing
//! files given by path, on a host without the CA directory.

use pgca::Result;
use pgca::pg::client::{InstallFiles, InstallOptions};
use pgca::pg::server::DeployFiles;

use super::Context;
use crate::args::{ClientInstallArgs, DeployServerArgs};
use crate::render::{self, Format};

/// `pgca deploy-server --cert FILE --key FILE --ca-file FILE --data-dir DIR`.
pub fn deploy_server(ctx: &Context, a: &DeployServerArgs) -> Result<()> {
    let f = &a.files;
    // clap requires all three with --cert.
    let (Some(cert), Some(key), Some(ca)) = (&f.cert, &f.key, &f.ca_file) else {
        super::usage_error("--cert needs --key and --ca-file");
    };
    let mut req = DeployFiles::new(cert.clone(), key.clone(), ca.clone());
    req.crl = f.crl.clone();
    req.owner = a.owner.clone();
    req.wait = ctx.wait();
    let d = pgca::pg::server::deploy_files(&req, &a.data_dir)?;
    let name = cert.display().to_string();
    render::print(
        Format::of(&a.out),
        || render::deployed_text(&name, &d),
        || render::deployed_json(&name, &d),
    );
    Ok(())
}

/// `pgca client-install --cert FILE --key FILE --root FILE`.
pub fn client_install(a: &ClientInstallArgs) -> Result<()> {
    let f = &a.files;
    let (Some(cert), Some(key), Some(root)) = (&f.cert, &f.key, &f.root) else {
        super::usage_error("--cert needs --key and --root");
    };
    let mut files = InstallFiles::new(cert.clone(), key.clone(), root.clone());
    files.crl = f.crl.clone();
    let mut opts = InstallOptions::default();
    opts.to = a.to.clone();
    opts.owner = a.owner.clone();
    opts.force = a.force;
    let done = pgca::pg::client::install_files(&files, &opts)?;
    let role = done.role.as_str();
    render::print(
        Format::of(&a.out),
        || render::installed_text(role, &done.dir),
        || render::installed_json(role, &done.dir, &done.files),
    );
    Ok(())
}
