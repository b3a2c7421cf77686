//! The load generator of `make bench`'s online rows: `pgca serve` under concurrent mutual-TLS
//! renewals, measured from the client side.
//!
//! ```text
//! loadgen --ca https://localhost:PORT [--ca URL...] --server-ca server-ca.crt --tokens FILE
//!         --seconds S [--rate R] [--renewals N] [--out FILE]
//! ```
//!
//! With several `--ca` (several `pgca serve` processes sharing one inventory database), client
//! `i` starts on the `i`-th modulo their number, and a request that gets no answer is sent
//! again, unchanged, to the next one. `--renewals N` stops once the clients made N renewals in
//! all (or at `--seconds`, whichever comes first).
//!
//! One client per line of `--tokens` (a `pgca token ROLE --client` each): it enrolls with its
//! token (`POST /v1/sign`, a P-256 key made here), then renews back to back over mutual TLS
//! with the certificate it holds and a new key each time (`POST /v1/renew`), on a connection of
//! its own per request, as an agent does. Without `--rate` every client renews as fast as the
//! CA answers (closed loop: the throughput row); with `--rate R` the clients share R renewals
//! a second on a fixed schedule and a renewal's latency counts from its scheduled time, so a
//! slow answer delays the next one's measure instead of hiding it (open loop: the latency row).
//!
//! Prints one JSON object: renewals, errors, seconds, renewals per second, p50/p99/max latency
//! in milliseconds. With `--out FILE` every certificate received is appended to FILE, serial
//! per line, for the fault test to check against the inventory.

use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use pgca::{CaClient, CaUrl, EnrollToken};

struct Args {
    ca: Vec<CaUrl>,
    renewals: Option<u64>,
    server_ca: Vec<u8>,
    tokens: Vec<EnrollToken>,
    seconds: f64,
    rate: Option<f64>,
    out: Option<std::path::PathBuf>,
}

fn usage(msg: &str) -> ! {
    eprintln!("loadgen: {msg}");
    eprintln!(
        "usage: loadgen --ca URL [--ca URL...] --server-ca FILE --tokens FILE --seconds S [--rate R] [--renewals N] [--out FILE]"
    );
    std::process::exit(2)
}

fn parse_args() -> Args {
    let mut it = std::env::args().skip(1);
    let (mut ca, mut server_ca, mut tokens, mut seconds, mut rate, mut out) =
        (Vec::new(), None, None, 10.0, None, None);
    let mut renewals = None;
    while let Some(flag) = it.next() {
        let value = it
            .next()
            .unwrap_or_else(|| usage(&format!("{flag} needs a value")));
        match flag.as_str() {
            "--ca" => ca.push(value.parse().unwrap_or_else(|e| usage(&format!("{e}")))),
            "--renewals" => {
                renewals = Some(
                    value
                        .parse()
                        .unwrap_or_else(|_| usage("--renewals: a number")),
                )
            }
            "--server-ca" => {
                server_ca =
                    Some(std::fs::read(&value).unwrap_or_else(|e| usage(&format!("{value}: {e}"))))
            }
            "--tokens" => {
                let text = std::fs::read_to_string(&value)
                    .unwrap_or_else(|e| usage(&format!("{value}: {e}")));
                tokens = Some(
                    text.lines()
                        .filter(|l| !l.trim().is_empty())
                        .map(|l| l.trim().parse().unwrap_or_else(|e| usage(&format!("{e}"))))
                        .collect::<Vec<EnrollToken>>(),
                );
            }
            "--seconds" => {
                seconds = value
                    .parse()
                    .unwrap_or_else(|_| usage("--seconds: a number"))
            }
            "--rate" => rate = Some(value.parse().unwrap_or_else(|_| usage("--rate: a number"))),
            "--out" => out = Some(value.into()),
            _ => usage(&format!("unknown flag {flag}")),
        }
    }
    Args {
        ca: if ca.is_empty() {
            usage("--ca is required")
        } else {
            ca
        },
        renewals,
        server_ca: server_ca.unwrap_or_else(|| usage("--server-ca is required")),
        tokens: tokens.unwrap_or_else(|| usage("--tokens is required")),
        seconds,
        rate,
        out,
    }
}

/// A key made here and a request for it with CN = `role`: (PKCS#8 key PEM, CSR PEM).
fn key_and_request(role: &str) -> (String, String) {
    let key = rcgen::KeyPair::generate().expect("generate a P-256 key");
    let mut params = rcgen::CertificateParams::default();
    params.distinguished_name = rcgen::DistinguishedName::new();
    params
        .distinguished_name
        .push(rcgen::DnType::CommonName, role);
    let csr = params.serialize_request(&key).expect("make a request");
    (key.serialize_pem(), csr.pem().expect("encode a request"))
}

/// What one client measured.
#[derive(Default)]
struct Tally {
    latencies_ms: Vec<f64>,
    errors: u64,
    retries: u64,
    first_error: Option<String>,
}

/// One client: enrolls, then renews until `deadline`, on `schedule` when there is one (its
/// `k`-th renewal at `start + (k * clients + index) / rate`).
fn client(
    args: &Args,
    index: usize,
    gate: &Gate,
    out: Option<&Mutex<std::fs::File>>,
    made: &AtomicU64,
) -> Tally {
    let mut tally = Tally::default();
    let fail = |tally: &mut Tally, e: String| {
        tally.errors += 1;
        tally.first_error.get_or_insert(e);
    };
    let anonymous: Vec<CaClient> = args
        .ca
        .iter()
        .map(|url| {
            CaClient::new(url, &args.server_ca, None, Duration::from_secs(10))
                .expect("a client of the CA")
        })
        .collect();
    let token = &args.tokens[index];
    let (mut key, csr) = key_and_request(&format!("load{index}"));
    let enrolled = anonymous[index % anonymous.len()].sign(token, &csr);
    // Every client enrolls before the clock starts.
    let start = gate.pass();
    let (role, mut cert) = match enrolled {
        Ok(issued) => {
            record(out, &issued.serial);
            (issued.name, issued.certificate)
        }
        Err(e) => {
            fail(&mut tally, format!("enroll: {e}"));
            return tally;
        }
    };
    let deadline = start + Duration::from_secs_f64(args.seconds);
    let clients = args.tokens.len() as f64;
    let mut k = 0u64;
    loop {
        let due = match args.rate {
            Some(rate) => {
                start + Duration::from_secs_f64((k as f64 * clients + index as f64) / rate)
            }
            None => Instant::now(),
        };
        if due >= deadline
            || args
                .renewals
                .is_some_and(|n| made.fetch_add(1, Ordering::SeqCst) >= n)
        {
            break;
        }
        if let Some(wait) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(wait);
        }
        k += 1;
        let (next_key, csr) = key_and_request(&role);
        let first = index + k as usize;
        let result = renew_retrying(&anonymous, first, args, &cert, &key, &csr, &mut tally);
        match result {
            Ok(issued) => {
                tally
                    .latencies_ms
                    .push(due.elapsed().as_secs_f64() * 1000.0);
                record(out, &issued.serial);
                cert = issued.certificate;
                key = next_key;
            }
            Err(e) => fail(&mut tally, format!("renew: {e}")),
        }
    }
    tally
}

/// Renews with `cert` (its key `key`) for `csr`, asking the CA `first` (modulo their number)
/// first; a request that got no answer (the CA unreachable, or killed mid-request) is sent
/// again, the same request, to the next CA, as an agent does, for up to 30 s: a renewal a CA
/// committed before it died is then handed out again, not refused.
fn renew_retrying(
    anonymous: &[CaClient],
    first: usize,
    args: &Args,
    cert: &str,
    key: &str,
    csr: &str,
    tally: &mut Tally,
) -> pgca::Result<pgca::IssuedReply> {
    let clients = anonymous
        .iter()
        .map(|a| a.with_identity(&args.server_ca, cert.as_bytes(), key.as_bytes()))
        .collect::<pgca::Result<Vec<_>>>()?;
    let give_up = Instant::now() + Duration::from_secs(30);
    let mut at = first;
    loop {
        match clients[at % clients.len()].renew(csr) {
            // No answer, or the CA busy or without its inventory database (a failover): as an
            // agent does, the same request again, to the next CA.
            Err(pgca::Error::CaRequest {
                status: None | Some(503),
                ..
            }) if Instant::now() < give_up => {
                tally.retries += 1;
                at += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            other => return other,
        }
    }
}

/// The start line: every client waits at it after enrolling; the clock starts when all have.
struct Gate {
    enrolled: std::sync::Barrier,
    started: std::sync::Barrier,
    start: std::sync::OnceLock<Instant>,
}

impl Gate {
    fn pass(&self) -> Instant {
        self.enrolled.wait();
        self.start.get_or_init(Instant::now);
        self.started.wait();
        *self.start.get().expect("set before the second barrier")
    }
}

fn record(out: Option<&Mutex<std::fs::File>>, serial: &str) {
    if let Some(out) = out {
        let mut f = out.lock().unwrap();
        let _ = writeln!(f, "{serial}");
    }
}

fn percentile(sorted: &[f64], p: f64) -> f64 {
    if sorted.is_empty() {
        return 0.0;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1]
}

fn main() {
    let args = Arc::new(parse_args());
    if args.tokens.is_empty() {
        usage("--tokens holds no token");
    }
    let out = args.out.as_ref().map(|p| {
        Arc::new(Mutex::new(
            std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(p)
                .unwrap_or_else(|e| usage(&format!("{}: {e}", p.display()))),
        ))
    });
    let n = args.tokens.len();
    let gate = Arc::new(Gate {
        enrolled: std::sync::Barrier::new(n),
        started: std::sync::Barrier::new(n),
        start: std::sync::OnceLock::new(),
    });
    let made = Arc::new(AtomicU64::new(0));
    let workers: Vec<_> = (0..n)
        .map(|i| {
            let (args, out, gate) = (Arc::clone(&args), out.clone(), Arc::clone(&gate));
            let made = Arc::clone(&made);
            std::thread::spawn(move || client(&args, i, &gate, out.as_deref(), &made))
        })
        .collect();
    let mut all = Tally::default();
    for w in workers {
        let t = w.join().expect("a client thread panicked");
        all.latencies_ms.extend(t.latencies_ms);
        all.errors += t.errors;
        all.retries += t.retries;
        if all.first_error.is_none() {
            all.first_error = t.first_error;
        }
    }
    // With --renewals the run may end before --seconds: the time from the start line.
    let seconds = match (args.renewals, gate.start.get()) {
        (Some(_), Some(start)) => start.elapsed().as_secs_f64().min(args.seconds),
        _ => args.seconds,
    };
    all.latencies_ms.sort_by(f64::total_cmp);
    let n = all.latencies_ms.len();
    let report = serde_json::json!({
        "clients": args.tokens.len(),
        "offered_per_second": args.rate,
        "renewals": n,
        "errors": all.errors,
        "retries": all.retries,
        "first_error": all.first_error,
        "seconds": seconds,
        "per_second": n as f64 / seconds,
        "p50_ms": percentile(&all.latencies_ms, 50.0),
        "p99_ms": percentile(&all.latencies_ms, 99.0),
        "max_ms": all.latencies_ms.last().copied().unwrap_or(0.0),
    });
    println!("{report}");
}
