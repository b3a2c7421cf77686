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
//! - The binary (`src/bin/pgca/`, crate root `main.rs`) is a module graph of its own, held to
//!   the first, third and fourth rules: no import cycles, nothing through `main.rs`, no file over
//!   800 lines of code. `crate::` paths resolve within the binary; `pgca::` paths are the
//!   library's public API and no edge. Its `mod.rs` may hold code (`commands/mod.rs`: what every
//!   command shares), and it uses the `args.rs` + `args/` layout, so a path into a child module
//!   a file declares (`hsm::pin` beside `mod hsm;`) is an edge too, outside `pub use`
//!   re-exports (those are the table of contents).
//!
//! Run it alone with `cargo test --test architecture`; `-- --nocapture` prints the graphs.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// A module path (`["store", "issue"]`) and its file.
type Modules = BTreeMap<Vec<String>, PathBuf>;

/// The `.rs` files under `dir`, leaving out `src/bin` (another crate) when `skip_bin`.
fn rust_files(dir: &Path, skip_bin: bool, out: &mut Vec<PathBuf>) {
    for e in std::fs::read_dir(dir).unwrap() {
        let p = e.unwrap().path();
        if p.is_dir() {
            if !(skip_bin && p.file_name().unwrap() == "bin") {
                rust_files(&p, skip_bin, out);
            }
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// The module a file under `root` (the crate's folder) defines; `lib.rs` and `main.rs` there are
/// the crate root.
fn module_path(root: &Path, file: &Path) -> Vec<String> {
    let rel = file.strip_prefix(root).unwrap().with_extension("");
    let mut parts: Vec<String> = rel
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    if parts.last().is_some_and(|l| l == "mod")
        || (parts.len() == 1 && (parts[0] == "lib" || parts[0] == "main"))
    {
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
    for root in ["crate", "super", "self"] {
        for t in paths_after(code, root) {
            out.push((root.to_string(), t));
        }
    }
    out
}

/// Every path into a child module the file declares (`mod hsm;` … `hsm::pin`), outside
/// `pub use` re-exports, as a `self::` path.
fn child_paths(code: &str) -> Vec<(String, Vec<String>)> {
    let children = code.lines().map(str::trim).filter_map(|l| {
        let l = l
            .strip_prefix("pub(crate) ")
            .or_else(|| l.strip_prefix("pub "))
            .unwrap_or(l);
        l.strip_prefix("mod ")?.strip_suffix(';')
    });
    let code = without_reexports(code);
    let mut out = Vec::new();
    for child in children {
        for t in paths_after(&code, child) {
            let mut tail = vec![child.to_string()];
            tail.extend(t);
            out.push(("self".to_string(), tail));
        }
    }
    out
}

/// The paths after `root::` where `root` starts a path (not `pgca::root::`, not `xroot::`).
fn paths_after(code: &str, root: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let b = code.as_bytes();
    let root = format!("{root}::");
    let mut at = 0;
    while let Some(i) = code[at..].find(&root) {
        let start = at + i;
        at = start + root.len();
        let before = start.checked_sub(1).map(|j| b[j]);
        if before.is_some_and(|c| c.is_ascii_alphanumeric() || c == b'_' || c == b':') {
            continue;
        }
        tree(code, &mut at, Vec::new(), &mut out);
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

/// A module as the report names it; `root` is the crate root's file (`lib.rs`, `main.rs`).
fn name(m: &[String], root: &str) -> String {
    if m.is_empty() {
        format!("crate ({root})")
    } else {
        m.join("::")
    }
}

/// Which crate a graph is of, and so which rules hold besides the cycles and the length.
#[derive(Clone, Copy, PartialEq)]
enum Kind {
    Library,
    Binary,
}

/// The problems of the crate whose root file (`lib.rs`, `main.rs`) is in `root`, with `files`
/// its files; `src` is what the report's paths are relative to.
fn problems_of(src: &Path, root: &Path, files: &[PathBuf], kind: Kind) -> Vec<String> {
    let root_file = match kind {
        Kind::Library => "lib.rs",
        Kind::Binary => "main.rs",
    };
    let modules: Modules = files
        .iter()
        .map(|f| (module_path(root, f), f.clone()))
        .collect();
    let mut graph: BTreeMap<Vec<String>, BTreeSet<Vec<String>>> = BTreeMap::new();
    let mut problems = Vec::new();
    for (m, file) in &modules {
        let text = std::fs::read_to_string(file).unwrap();
        let code = code_of(&text);
        let shown = file.strip_prefix(src).unwrap().display();
        let lines = code.lines().filter(|l| !l.trim().is_empty()).count();
        if lines > 800 {
            problems.push(format!("src/{shown}: {lines} lines of code (at most 800)"));
        }
        let is_mod_rs = file.file_name().unwrap() == "mod.rs";
        if is_mod_rs && kind == Kind::Library {
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
        let mut paths = paths_in(&code);
        if kind == Kind::Binary {
            paths.extend(child_paths(&code));
        }
        for (root, tail) in paths {
            let to = resolve(&modules, m, &root, &tail);
            if to.is_empty() && !m.is_empty() {
                problems.push(format!(
                    "src/{shown}: imports crate::{} through {root_file}'s re-exports; name its module",
                    tail.join("::")
                ));
            }
            if &to != m {
                edges.insert(to);
            }
        }
        if kind == Kind::Library {
            for banned in ["clap::", "IsTerminal", "tcgetattr", "\"PGCA_PASSPHRASE"] {
                if code.contains(banned) {
                    problems.push(format!(
                        "src/{shown}: the library uses {banned} (the binary's job)"
                    ));
                }
            }
        }
    }
    for (m, to) in &graph {
        println!(
            "{} -> {}",
            name(m, root_file),
            to.iter()
                .map(|t| name(t, root_file))
                .collect::<Vec<_>>()
                .join(", ")
        );
    }
    for c in cycles_in(&graph) {
        let c: Vec<String> = c.iter().map(|m| name(m, root_file)).collect();
        problems.push(format!("import cycle: {}", c.join(" -> ")));
    }
    problems
}

/// Every cycle a depth-first search finds (a back edge), each from its first module back to it.
fn cycles_in(graph: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<Vec<String>>> {
    #[derive(Clone, Copy, PartialEq)]
    enum Mark {
        New,
        Open,
        Done,
    }
    type Graph = BTreeMap<Vec<String>, BTreeSet<Vec<String>>>;
    fn visit<'a>(
        m: &'a Vec<String>,
        graph: &'a Graph,
        mark: &mut BTreeMap<&'a Vec<String>, Mark>,
        stack: &mut Vec<&'a Vec<String>>,
        cycles: &mut Vec<Vec<Vec<String>>>,
    ) {
        mark.insert(m, Mark::Open);
        stack.push(m);
        for to in graph.get(m).into_iter().flatten() {
            match mark.get(to).copied().unwrap_or(Mark::Done) {
                Mark::New => visit(to, graph, mark, stack, cycles),
                Mark::Open => {
                    let i = stack.iter().position(|s| *s == to).unwrap();
                    let mut c: Vec<Vec<String>> = stack[i..].iter().map(|s| (*s).clone()).collect();
                    c.push(to.clone());
                    cycles.push(c);
                }
                Mark::Done => {}
            }
        }
        stack.pop();
        mark.insert(m, Mark::Done);
    }
    let mut mark: BTreeMap<&Vec<String>, Mark> = graph.keys().map(|k| (k, Mark::New)).collect();
    let mut cycles = Vec::new();
    for m in graph.keys() {
        if mark[m] == Mark::New {
            visit(m, graph, &mut mark, &mut Vec::new(), &mut cycles);
        }
    }
    cycles
}

fn assert_none(problems: Vec<String>) {
    assert!(
        problems.is_empty(),
        "{} problems:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_library_has_no_import_cycles_and_reads_like_a_table_of_contents() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut files = Vec::new();
    rust_files(&src, true, &mut files);
    assert_none(problems_of(&src, &src, &files, Kind::Library));
}

#[test]
fn the_binary_has_no_import_cycles_and_no_long_files() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let bin = src.join("bin/pgca");
    let mut files = Vec::new();
    rust_files(&bin, false, &mut files);
    assert!(
        files.contains(&bin.join("main.rs")),
        "no src/bin/pgca/main.rs"
    );
    assert_none(problems_of(&src, &bin, &files, Kind::Binary));
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

#[test]
fn a_path_into_a_declared_child_module_is_an_edge_and_a_reexport_is_not() {
    let code = "mod hsm;\npub mod probe;\npub use probe::*;\n\
                fn f() { hsm::pin(); pgca::probe::X; xprobe::y(); probe::timeout(); }";
    let mut p = child_paths(code);
    p.sort();
    let want: Vec<(String, Vec<String>)> = vec![
        (
            "self".to_string(),
            vec!["hsm".to_string(), "pin".to_string()],
        ),
        (
            "self".to_string(),
            vec!["probe".to_string(), "timeout".to_string()],
        ),
    ];
    assert_eq!(p, want);
    let root = Path::new("/b");
    assert_eq!(
        module_path(root, Path::new("/b/main.rs")),
        Vec::<String>::new()
    );
    assert_eq!(module_path(root, Path::new("/b/args.rs")), vec!["args"]);
    assert_eq!(
        module_path(root, Path::new("/b/args/main.rs")),
        vec!["args", "main"]
    );
    assert_eq!(
        module_path(root, Path::new("/b/commands/mod.rs")),
        vec!["commands"]
    );
}
