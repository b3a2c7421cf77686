//! pg_service.conf: any bytes parse; an upsert or remove either is refused and changes nothing,
//! or keeps every byte outside the section it touched and re-parses to exactly what was written.
#![no_main]

use libfuzzer_sys::fuzz_target;
use pgca::pg::service::ServiceFile;

fuzz_target!(|data: &[u8]| {
    // The input: a file, then (after a 0xFF separator) a service name and a value.
    let mut parts = data.splitn(3, |&b| b == 0xFF);
    let file = parts.next().unwrap_or_default();
    let name = String::from_utf8_lossy(parts.next().unwrap_or(b"svc"));
    let value = String::from_utf8_lossy(parts.next().unwrap_or(b"db.example.com"));

    let original = ServiceFile::parse("fuzz.conf", file.to_vec());
    assert_eq!(original.to_bytes(), file, "parse and serialise must round-trip");

    let mut edited = original.clone();
    match edited.upsert(&name, &[("host", &value), ("sslmode", "verify-full")], true) {
        Ok(_) => {
            let section = edited.get(&name).expect("the upserted section is there");
            let entries: Vec<(String, String)> = section.entries.iter().map(|e| (e.key.clone(), e.value.clone())).collect();
            assert_eq!(entries, [("host".to_string(), value.to_string()), ("sslmode".to_string(), "verify-full".to_string())]);
            // Removing it again leaves a file that libpq reads the same for every other name.
            let mut removed = edited.clone();
            removed.remove(&name).expect("what was added can be removed");
                        // (Keys and values: line numbers shift when a section above is removed.)
            let read = |f: &ServiceFile, n: &str| {
                f.get(n).map(|x| x.entries.into_iter().map(|e| (e.key, e.value)).collect::<Vec<_>>())
            };
            for s in original.sections().iter().filter(|s| s.name != name.as_ref()) {
                assert_eq!(read(&removed, &s.name), read(&original, &s.name), "{}", s.name);
            }
        }
        Err(_) => assert_eq!(edited.to_bytes(), file, "a refused edit changes nothing"),
    }
});
