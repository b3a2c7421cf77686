//! The handlers behind `pgca serve`, through the library's API and without HTTP: tokens minted
//! and used once, enrollment refused for every way a token can be wrong, renewal with the
//! current certificate refused for revoked, expired and superseded ones, and idempotent.

use std::path::Path;

use pgca::x509::csr::make_request;
use pgca::{
    CaDir, CertInfo, CertKind, CertState, CsrRequest, EnrollRequest, EnrollToken, Error,
    InitOptions, KeyType, OnlineIssued, OnlineRenewRequest, PrivateKey, Reason, RenewPolicy,
    RevokeRequest, TokenRequest, Validity,
};
use time::OffsetDateTime;

fn new_ca() -> (tempfile::TempDir, CaDir) {
    let tmp = tempfile::tempdir().unwrap();
    let ca = CaDir::init(tmp.path().join("ca"), &InitOptions::default()).unwrap();
    (tmp, ca)
}

fn csr(kind: CertKind, names: &[&str]) -> (PrivateKey, CsrRequest) {
    let key = PrivateKey::generate(KeyType::EcdsaP256).unwrap();
    let names: Vec<String> = names.iter().map(|s| s.to_string()).collect();
    let pem = make_request(kind, &names, &key).unwrap();
    let csr = CsrRequest::parse(pem.as_bytes(), Path::new("req.csr")).unwrap();
    (key, csr)
}

fn token(ca: &CaDir, kind: CertKind, names: &[&str], now: OffsetDateTime) -> EnrollToken {
    let mut req = TokenRequest::new(kind, names.iter().map(|s| s.to_string()).collect());
    req.now = Some(now);
    req.validity = "2m".parse().unwrap();
    ca.mint_token(&req).unwrap().token
}

fn enroll(
    ca: &CaDir,
    token: &EnrollToken,
    csr: CsrRequest,
    now: OffsetDateTime,
) -> pgca::Result<OnlineIssued> {
    let mut req = EnrollRequest::new(token.clone(), csr);
    req.peer = Some("127.0.0.1:5000".into());
    req.now = Some(now);
    ca.enroll(&req)
}

fn der(issued: &OnlineIssued) -> Vec<u8> {
    pem::parse(issued.cert_pem.as_bytes())
        .unwrap()
        .into_contents()
}

fn renew(
    ca: &CaDir,
    presented: &OnlineIssued,
    csr: CsrRequest,
    now: OffsetDateTime,
    policy: &RenewPolicy,
) -> pgca::Result<OnlineIssued> {
    let mut req = OnlineRenewRequest::new(der(presented), csr);
    req.now = Some(now);
    ca.renew_online(&req, policy)
}

fn now() -> OffsetDateTime {
    pgca::timefmt::now()
}

fn bad_token(e: Error) -> &'static str {
    match e {
        Error::BadToken { reason, .. } => reason,
        e => panic!("not a token refusal: {e}"),
    }
}

fn refusal(e: Error) -> &'static str {
    match e {
        Error::RenewRefused { reason, .. } => reason,
        e => panic!("not a renewal refusal: {e}"),
    }
}

#[test]
fn a_token_enrolls_once_for_its_names_and_kind_only() {
    let (_tmp, ca) = new_ca();
    let t0 = now();
    let t = token(&ca, CertKind::Server, &["db1.example.com", "10.0.0.5"], t0);

    // A request for a name the token does not carry: refused, and the token is still good.
    let e = enroll(
        &ca,
        &t,
        csr(CertKind::Server, &["db1.example.com", "db2.example.com"]).1,
        t0,
    )
    .unwrap_err();
    assert_eq!(
        bad_token(e),
        "the request names a host the token does not carry"
    );
    // The kind is the token's: a request cannot turn a server token into a client
    // certificate (its profile is the token's kind, whatever the request asks).

    // The right request: the certificate carries the request's names, the token's validity,
    // and the inventory says how it was authorised.
    let issued = enroll(
        &ca,
        &t,
        csr(CertKind::Server, &["db1.example.com", "10.0.0.5"]).1,
        t0,
    )
    .unwrap();
    let info = CertInfo::from_pem(issued.cert_pem.as_bytes()).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("db1.example.com"));
    assert_eq!((info.not_after - t0).whole_seconds(), 120);
    let ledger = ca.inventory().unwrap();
    let record = ledger.current(CertKind::Server, "db1.example.com").unwrap();
    let auth = record.authorized.as_ref().unwrap();
    assert_eq!(auth.token.as_deref(), Some(t.id()));
    assert_eq!(auth.peer.as_deref(), Some("127.0.0.1:5000"));
    assert_eq!(
        ledger
            .tokens()
            .get(t.id())
            .unwrap()
            .used
            .as_ref()
            .unwrap()
            .serial,
        issued.issued.serial
    );
    // The secret is not in the inventory.
    let text = std::fs::read_to_string(ca.root().join("inventory.jsonl")).unwrap();
    assert!(!text.contains(&t.expose()[23..]));

    // Replayed: refused.
    let e = enroll(&ca, &t, csr(CertKind::Server, &["db1.example.com"]).1, t0).unwrap_err();
    assert_eq!(bad_token(e), "already used");
}

#[test]
fn expired_foreign_and_forged_tokens_are_refused() {
    let (_tmp, ca) = new_ca();
    let (_tmp2, other) = new_ca();
    let t0 = now();
    let t = token(&ca, CertKind::Client, &["alice"], t0);
    let late = t0 + time::Duration::minutes(15);
    let e = enroll(&ca, &t, csr(CertKind::Client, &["alice"]).1, late).unwrap_err();
    assert_eq!(bad_token(e), "expired");

    let foreign = token(&other, CertKind::Client, &["alice"], t0);
    let e = enroll(&ca, &foreign, csr(CertKind::Client, &["alice"]).1, t0).unwrap_err();
    assert_eq!(bad_token(e), "not minted by this CA");

    // The right id with another secret.
    let forged: EnrollToken = format!("{}{}", &t.expose()[..23], &foreign.expose()[23..])
        .parse()
        .unwrap();
    let e = enroll(&ca, &forged, csr(CertKind::Client, &["alice"]).1, t0).unwrap_err();
    assert_eq!(bad_token(e), "not minted by this CA");

    let e = enroll(&ca, &t, csr(CertKind::Client, &["bob"]).1, t0).unwrap_err();
    assert_eq!(
        bad_token(e),
        "the request is for a role the token does not carry"
    );
    // Still unused after all that.
    enroll(&ca, &t, csr(CertKind::Client, &["alice"]).1, t0).unwrap();
}

#[test]
fn racing_requests_with_one_token_get_one_certificate() {
    let (_tmp, ca) = new_ca();
    let t0 = now();
    let t = token(&ca, CertKind::Client, &["alice"], t0);
    let results: Vec<_> = std::thread::scope(|s| {
        let hs: Vec<_> = (0..6)
            .map(|_| s.spawn(|| enroll(&ca, &t, csr(CertKind::Client, &["alice"]).1, t0)))
            .collect();
        hs.into_iter().map(|h| h.join().unwrap()).collect()
    });
    assert_eq!(results.iter().filter(|r| r.is_ok()).count(), 1);
    for r in results.into_iter().filter_map(Result::err) {
        assert_eq!(bad_token(r), "already used");
    }
    let ledger = ca.inventory().unwrap();
    assert_eq!(
        ledger
            .issued()
            .iter()
            .filter(|i| i.kind == CertKind::Client)
            .count(),
        1
    );
}

#[test]
fn a_certificate_renews_itself_once_and_a_retry_gets_the_same_answer() {
    let (_tmp, ca) = new_ca();
    let t0 = now();
    let t = token(&ca, CertKind::Server, &["db1.example.com", "10.0.0.5"], t0);
    let first = enroll(
        &ca,
        &t,
        csr(CertKind::Server, &["db1.example.com", "10.0.0.5"]).1,
        t0,
    )
    .unwrap();
    let policy = RenewPolicy::default();
    let t1 = t0 + time::Duration::seconds(80);

    // The same key again: refused by default, allowed by the policy.
    let same = CsrRequest::parse(
        make_request(CertKind::Server, &["db1.example.com".into()], &{
            // The key of `first` is the host's; the test kept no copy, so use a CSR whose
            // public key is that of the certificate: refused before any signature matters.
            PrivateKey::generate(KeyType::EcdsaP256).unwrap()
        })
        .unwrap()
        .as_bytes(),
        Path::new("x"),
    )
    .unwrap();
    let mut same = same;
    same.spki_der = CertInfo::from_pem(first.cert_pem.as_bytes())
        .unwrap()
        .spki_der;
    let e = renew(&ca, &first, same, t1, &policy).unwrap_err();
    assert_eq!(
        refusal(e),
        "the request is for the same key (send a new one)"
    );

    // A CSR naming other hosts: the new certificate keeps the old one's names and lifetime.
    let (_, next_csr) = csr(CertKind::Server, &["evil.example.com"]);
    let second = renew(&ca, &first, next_csr.clone(), t1, &policy).unwrap();
    assert!(!second.repeated);
    let info = CertInfo::from_pem(second.cert_pem.as_bytes()).unwrap();
    assert_eq!(info.common_name.as_deref(), Some("db1.example.com"));
    assert_eq!(info.sans, ["db1.example.com", "10.0.0.5"]);
    assert_eq!((info.not_after - t1).whole_seconds(), 120);
    assert_eq!(info.spki_der, next_csr.spki_der);

    // The reply was lost: the host retries with the old certificate and the same request.
    let again = renew(&ca, &first, next_csr, t1, &policy).unwrap();
    assert!(again.repeated);
    assert_eq!(again.issued.serial, second.issued.serial);
    assert_eq!(again.cert_pem, second.cert_pem);

    // With another key, the old certificate is superseded: refused.
    let e = renew(&ca, &first, csr(CertKind::Server, &["x"]).1, t1, &policy).unwrap_err();
    assert_eq!(refusal(e), "it was renewed already (for another key)");
    let ledger = ca.inventory().unwrap();
    let record = ledger.current(CertKind::Server, "db1.example.com").unwrap();
    assert_eq!(
        record.authorized.as_ref().unwrap().renewed_from.as_ref(),
        Some(&first.issued.serial)
    );
    assert_eq!(
        ledger.state(ledger.by_serial(&first.issued.serial).unwrap(), t1),
        CertState::Superseded
    );

    // The new one renews in its turn.
    let third = renew(&ca, &second, csr(CertKind::Server, &["x"]).1, t1, &policy).unwrap();
    assert_ne!(third.issued.serial, second.issued.serial);
}

#[test]
fn revoked_expired_and_superseded_certificates_do_not_renew() {
    let (_tmp, ca) = new_ca();
    let t0 = now();
    let alice = enroll(
        &ca,
        &token(&ca, CertKind::Client, &["alice"], t0),
        csr(CertKind::Client, &["alice"]).1,
        t0,
    )
    .unwrap();
    let bob = enroll(
        &ca,
        &token(&ca, CertKind::Client, &["bob"], t0),
        csr(CertKind::Client, &["bob"]).1,
        t0,
    )
    .unwrap();
    let carol = enroll(
        &ca,
        &token(&ca, CertKind::Client, &["carol"], t0),
        csr(CertKind::Client, &["carol"]).1,
        t0,
    )
    .unwrap();
    let policy = RenewPolicy::default();

    ca.revoke(&RevokeRequest::new("alice", Reason::KeyCompromise))
        .unwrap();
    let e = renew(
        &ca,
        &alice,
        csr(CertKind::Client, &["alice"]).1,
        t0,
        &policy,
    )
    .unwrap_err();
    assert_eq!(refusal(e), "it is revoked");

    // Expired: refused, unless within the grace.
    let late = t0 + time::Duration::seconds(150);
    let e = renew(&ca, &bob, csr(CertKind::Client, &["bob"]).1, late, &policy).unwrap_err();
    assert_eq!(refusal(e), "it has expired");
    let mut grace = RenewPolicy::default();
    grace.grace = Some("1m".parse::<Validity>().unwrap());
    renew(&ca, &bob, csr(CertKind::Client, &["bob"]).1, late, &grace).unwrap();

    // Superseded by a certificate issued on the CA host (or enrolled again with a token).
    let again = enroll(
        &ca,
        &token(&ca, CertKind::Client, &["carol"], t0),
        csr(CertKind::Client, &["carol"]).1,
        t0,
    )
    .unwrap();
    let e = renew(
        &ca,
        &carol,
        csr(CertKind::Client, &["carol"]).1,
        t0,
        &policy,
    )
    .unwrap_err();
    assert_eq!(refusal(e), "it is superseded by a later certificate");
    renew(
        &ca,
        &again,
        csr(CertKind::Client, &["carol"]).1,
        t0,
        &policy,
    )
    .unwrap();

    // A certificate of another CA directory: not in this inventory.
    let (_tmp2, other) = new_ca();
    let stranger = enroll(
        &other,
        &token(&other, CertKind::Client, &["alice"], t0),
        csr(CertKind::Client, &["alice"]).1,
        t0,
    )
    .unwrap();
    let e = renew(
        &ca,
        &stranger,
        csr(CertKind::Client, &["alice"]).1,
        t0,
        &policy,
    )
    .unwrap_err();
    assert_eq!(refusal(e), "the inventory records no such certificate");
    let report = ca.verify(Some(t0)).unwrap();
    assert_eq!(report.status, pgca::Status::Ok, "{:?}", report.problems);
}
