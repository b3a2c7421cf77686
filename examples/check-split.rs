//! Where `pgca check` spends its time (a measurement, not a test): cargo run --release --example check-split DIR
fn main() {
    let dir = std::path::PathBuf::from(std::env::args().nth(1).expect("DIR"));
    let ca = pgca::CaDir::open(&dir).unwrap();
    let t = std::time::Instant::now();
    let ledger = ca.inventory().unwrap();
    println!(
        "inventory: {:?} ({} records)",
        t.elapsed(),
        ledger.issued().len()
    );
    let names: Vec<_> = ledger
        .issued()
        .iter()
        .filter(|i| i.kind == pgca::CertKind::Client)
        .map(|i| i.name.clone())
        .collect();
    let t = std::time::Instant::now();
    for n in &names {
        let _ = pgca::CertInfo::from_file(&ca.cert_path(pgca::CertKind::Client, n)).unwrap();
    }
    println!("certificates: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for n in &names {
        let p = ca.key_path(pgca::CertKind::Client, n);
        let _ = std::fs::read(&p).unwrap();
    }
    println!("key files read: {:?}", t.elapsed());
    let t = std::time::Instant::now();
    for n in &names {
        let p = ca.key_path(pgca::CertKind::Client, n);
        let _ = pgca::PrivateKey::from_pem(&std::fs::read_to_string(&p).unwrap(), &p).unwrap();
    }
    println!("keys read and parsed: {:?}", t.elapsed());
}
