//! The crate root is the public interface: a program that names only `pgca::{...}` (no module
//! path) can run a CA's whole life. init → issue → check → renew → revoke → verify →
//! client-install, in a temporary directory, with the requests and reports of each step named
//! by their root names.

use std::os::unix::fs::PermissionsExt;

use pgca::{
    CaDir, CertKind, CertName, CheckOptions, CheckReport, ClientInstalled, HostName, InitOptions,
    InstallOptions, IssueOptions, IssuedCert, Reason, RenewOptions, RenewReport, RevokeRequest,
    Revoked, RoleName, Status, VerifyReport,
};

#[test]
fn a_cas_life_through_the_crate_root_only() -> Result<(), Box<dyn std::error::Error>> {
    let tmp = tempfile::tempdir()?;

    // init, with a server certificate; issue two clients.
    let mut init = InitOptions::default();
    init.server_hosts = vec!["db.example.com".parse::<HostName>()?];
    let ca = CaDir::init(tmp.path().join("ca"), &init)?;
    let alice: RoleName = "alice".parse()?;
    let bob: RoleName = "bob".parse()?;
    let issued: Vec<IssuedCert> =
        ca.issue_clients(&[alice.clone(), bob], &IssueOptions::default())?;
    assert_eq!(issued.len(), 2);

    // check: everything fresh.
    let report: CheckReport = ca.check(&CheckOptions::default())?;
    assert_eq!(report.status, Status::Ok, "{}", report.summary());
    assert!(report.certificates.iter().any(|f| f.name == "alice"));

    // renew alice whether due or not: a new serial.
    let mut renew = RenewOptions::default();
    renew.names = vec!["alice".parse::<CertName>()?];
    renew.force = true;
    let renewed: RenewReport = ca.renew(&renew)?;
    assert!(renewed.failures.is_empty(), "{:?}", renewed.failures);
    assert_eq!(renewed.renewed_names(), ["client/alice"]);
    let alice_now = &renewed.renewed[0].issued;
    assert_ne!(alice_now.serial, issued[0].serial);

    // revoke bob: the client CA's CRL is written.
    let revoked: Revoked = ca.revoke(&RevokeRequest::new("bob", Reason::CessationOfOperation))?;
    assert_eq!(revoked.revoked.len(), 1);
    assert_eq!(revoked.revoked[0].0, CertKind::Client);
    assert!(revoked.crl.as_ref().is_some_and(|p| p.exists()));

    // verify: the doctor finds nothing wrong.
    let verified: VerifyReport = ca.verify(None)?;
    assert_eq!(verified.status, Status::Ok, "{:?}", verified.problems);

    // client-install alice into a directory of ours: libpq's and pgjdbc's file names, keys 0600.
    let mut install = InstallOptions::default();
    install.to = Some(tmp.path().join("pg"));
    let installed: ClientInstalled = ca.client_install(&alice, &install)?;
    assert_eq!(installed.role, alice);
    for file in &installed.files {
        let mode = std::fs::metadata(file)?.permissions().mode() & 0o777;
        let name = file.file_name().unwrap().to_string_lossy();
        let want = if name.ends_with(".key") || name.ends_with(".pk8") {
            0o600
        } else {
            0o644
        };
        assert_eq!(mode, want, "{name}");
    }
    // bob is revoked: nothing installs him.
    let bob: RoleName = "bob".parse()?;
    let mut elsewhere = InstallOptions::default();
    elsewhere.to = Some(tmp.path().join("bob"));
    assert!(matches!(
        ca.client_install(&bob, &elsewhere),
        Err(pgca::Error::Revoked { .. })
    ));
    Ok(())
}
