//! The shape of `src/`, checked: what ARCHITECTURE.md promises a reader.
//!
//! - No import cycles between the library's files. Every `crate::`, `super::` and `self::` path
//!   in a file's non-test code is an edge to the file that defines the module it names; a cycle
//!   fails with its files listed.
//! - `mod.rs` files hold documentation, `mod` lines and `pub use` re-exports only: the folder is a
//!   table of contents, and no child can import code from its parent (through a re-export it
//!   would be a cycle, which the first rule catches).
//! - Nothing inside the crate imports through `lib.rs`'s re-exports (`crate::CaDir`): those are
//!   for library users, and an edge to `lib.rs` would be an edge to everything.
//! - No file holds more than 800 lines of non-test code.
//! - The library (`src/` outside `src/bin/`) names no clap, prompts no terminal and reads no
//!   passphrase from the environment: that is the binary's job.
//!
//! Run it alone with `cargo test --test architecture`; `-- --nocapture` prints the graph.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["store", "issue"]`) and its file.
type Modules = BTreeMap<Vec<String>, PathBuf>;

fn library_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if p.file_name().unwrap() != "bin" {
                library_files(&p, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

fn module_path(src: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(src).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod" || l == "lib") {
        parts.pop();
    }
    parts
}

/// The code a file compiles outside its unit tests, without comments.
fn code_of(text: &str) -> String {
    let end = text.find("#[cfg(test)]\nmod tests").unwrap_or(text.len());
    text[..end]
        .lines()
        .filter(|l| !l.trim_start().starts_with("//"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// The code without its `pub use …;` and `pub(crate) use …;` statements.
fn without_reexports(code: &str) -> String {
    let mut out = String::new();
    let mut rest = code;
    while let Some(i) = ["pub use ", "pub(crate) use "]
        .iter()
        .filter_map(|p| rest.find(p))
        .min()
    {
        out.push_str(&rest[..i]);
        rest = rest[i..].find(';').map_or("", |j| &rest[i + j + 1..]);
    }
    out.push_str(rest);
    out
}

/// Every path after `crate::`, `super::` or `self::`, with `{a, b::{c}}` groups expanded.
fn paths_in(code: &str) -> Vec<(String, Vec<String>)> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    for root in ["crate::", "super::", "self::"] {
        let mut at = 0;
        while let Some(i) = code[at..].find(root) {
            let start = at + i;
            at = start + root.len();
            let before = start.checked_sub(1).map(|j| b[j]);
            if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':') {
                continue;
            }
            let mut tails = Vec::new();
            tree(code, &mut at, Vec::new(), &mut tails);
            for t in tails {
                out.push((root.trim_end_matches("::").to_string(), t));
            }
        }
    }
    out
}

/// Reads `a::b::{c, d::e}` from `code[*at..]` into `out`, one path per leaf.
fn tree(code: &str, at: &mut usize, prefix: Vec<String>, out: &mut Vec<Vec<String>>) {
    let b = code.as_bytes();
    let mut path = prefix;
    loop {
        while *at < b.len() && b[*at].is_ascii_whitespace() {
            *at += 1;
        }
        if *at < b.len() && b[*at] == b'{' {
            *at += 1;
            loop {
                tree(code, at, path.clone(), out);
                while *at < b.len() && b[*at].is_ascii_whitespace() {
                    *at += 1;
                }
                match b.get(*at) {
                    Some(b',') => *at += 1,
                    Some(b'}') => {
                        *at += 1;
                        return;
                    }
                    _ => return,
                }
                while *at < b.len() && b[*at].is_ascii_whitespace() {
                    *at += 1;
                }
                if b.get(*at) == Some(&b'}') {
                    *at += 1;
                    return;
                }
            }
        }
        let s = *at;
        while *at < b.len() && (b[*at].is_ascii_alphanumeric() || b[*at] == b'_') {
            *at += 1;
        }
        if s == *at {
            out.push(path);
            return;
        }
        path.push(code[s..*at].to_string());
        if code[*at..].starts_with("::") {
            *at += 2;
        } else {
            out.push(path);
            return;
        }
    }
}

/// The module a path from module `from` lands in: the longest prefix that is a module file.
fn resolve(modules: &Modules, from: &[String], root: &str, tail: &[String]) -> Vec<String> {
    let mut full: Vec<String> = match root {
        "crate" => Vec::new(),
        "self" => from.to_vec(),
        _ => from[..from.len().saturating_sub(1)].to_vec(),
    };
    let mut tail = tail.to_vec();
    while tail.first().is_some_and(|t| t == "super") {
        tail.remove(0);
        full.pop();
    }
    full.extend(tail);
    while !full.is_empty() && !modules.contains_key(&full) {
        full.pop();
    }
    full
}

fn name(m: &[String]) -> String {
    if m.is_empty() {
        "crate (lib.rs)".into()
    } else {
        m.join("::")
    }
}

#[test]
fn the_library_has_no_import_cycles_and_reads_like_a_table_of_contents() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    library_files(&src, &mut files);
    let modules: Modules = files
        .iter()
        .map(|f| (module_path(&src, f), f.clone()))
        .collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (m, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let code = code_of(&text);
        let shown = file.strip_prefix(&src).unwrap().display();
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > 800 {
            problems.push(format!("src/{shown}: {lines} lines of code (at most 800)"));
        }
        let is_mod_rs = file.file_name().unwrap() == "mod.rs";
        if is_mod_rs {
            let rest = without_reexports(&code);
            let code_lines: Vec<&str> = rest
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty())
                .filter(|l| {
                    !(l.starts_with("pub mod ")
                        || l.starts_with("mod ")
                        || l.starts_with("pub(crate) mod ")
                        || l.starts_with("#["))
                })
                .collect();
            if let Some(first) = code_lines.first() {
                problems.push(format!(
                    "src/{shown}: a mod.rs holds docs, mod lines and re-exports only, found {} other lines, the first {first:?}",
                    code_lines.len()
                ));
            }
        }
        let edges = graph.entry(m.clone()).or_default();
        for (root, tail) in paths_in(&code) {
            let to = resolve(&modules, m, &root, &tail);
            if to.is_empty() && !m.is_empty() {
                problems.push(format!(
                    "src/{shown}: imports crate::{} through lib.rs's re-exports; name its module",
                    tail.join("::")
                ));
            }
            if &to != m {
                edges.insert(to);
            }
        }
        for banned in ["clap::", "IsTerminal", "tcgetattr", "\"PGCA_PASSPHRASE"] {
            if code.contains(banned) {
                problems.push(format!(
                    "src/{shown}: the library uses {banned} (the binary's job)"
                ));
            }
        }
    }
    for (m, to) in &graph {
        println!(
            "{} -> {}",
            name(m),
            to.iter().map(|t| name(t)).collect::<Vec<_>>().join(", ")
        );
    }
    // Depth-first search; a back edge is a cycle.
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    let mut mark: BTreeMap<&Vec<String>, Mark> = graph.keys().map(|k| (k, Mark::New)).collect();
    fn visit<'a>(
        m: &'a Vec<String>,
        graph: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        mark: &mut BTreeMap<&'a Vec<String>, Mark>,
        stack: &mut Vec<&'a Vec<String>>,
        cycles: &mut Vec<String>,
    ) {
        mark.insert(m, Mark::Open);
        stack.push(m);
        for to in graph.get(m).into_iter().flatten() {
            match mark.get(to).copied().unwrap_or(Mark::Done) {
                Mark::New => visit(to, graph, mark, stack, cycles),
                Mark::Open => {
                    let i = stack.iter().position(|s| *s == to).unwrap();
                    let mut c: Vec<String> = stack[i..].iter().map(|s| name(s)).collect();
                    c.push(name(to));
                    cycles.push(c.join(" -> "));
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        mark.insert(m, Mark::Done);
    }
    let mut cycles = Vec::new();
    for m in graph.keys() {
        if mark[m] == Mark::New {
            visit(m, &graph, &mut mark, &mut Vec::new(), &mut cycles);
        }
    }
    for c in cycles {
        problems.push(format!("import cycle: {c}"));
    }
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_path_reader_sees_groups_and_relative_paths() {
    let code = "use crate::{a::b, c::{d, e::f}};\nlet x = super::super::g::h(1); self::i::J;";
    let mut p = paths_in(code);
    p.sort();
    let want: Vec<(String, Vec<String>)> = vec![
        ("crate", vec!["a", "b"]),
        ("crate", vec!["c", "d"]),
        ("crate", vec!["c", "e", "f"]),
        ("self", vec!["i", "J"]),
        ("super", vec!["super", "g", "h"]),
    ]
    .into_iter()
    .map(|(r, t)| (r.to_string(), t.into_iter().map(String::from).collect()))
    .collect();
    assert_eq!(p, want);
    let modules: Modules = [vec![], vec!["g".to_string()], vec!["x".into(), "y".into()]]
        .into_iter()
        .map(|m| (m, PathBuf::new()))
        .collect();
    let from = vec!["x".to_string(), "y".to_string()];
    assert_eq!(
        resolve(
            &modules,
            &from,
            "super",
            &["super".into(), "g".into(), "h".into()]
        ),
        vec!["g".to_string()]
    );
    assert_eq!(
        resolve(&modules, &from, "crate", &["Thing".into()]),
        Vec::<String>::new()
    );
}
