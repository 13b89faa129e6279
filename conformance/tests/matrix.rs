//! Keeps `docs/conformance.md` honest against `vectors/specs/requirements.md`.
//!
//! The requirements file (generated from the XEP XML sources by
//! `vectors/tools/requirements.py`) numbers every RFC 2119 sentence of XEP-0116, XEP-0200,
//! XEP-0187 and XEP-0155 (`| XEP0116-001 | MAY | section | statement |`). The
//! matrix has one row per id, `| id | level | proven by |`. This test parses both
//! tables (std only, line by line: both are plain pipe tables) and fails when
//!
//! - an id of the four XEPs is missing from the matrix, or the matrix names an id
//!   the requirements file does not have, or gives it another level;
//! - an id appears twice;
//! - a "proven by" cell is empty;
//! - a cell says `not yet tested:` (every id is proven or explained);
//! - a cell that claims a proof (it does not start with `n/a:`) holds no
//!   reference, or a backticked span that is not a reference;
//! - a `path/file.rs::name` reference names a missing file, or a file without a
//!   `#[test]` function `fn name` (proptest functions carry `#[test]` too);
//! - a `vectors/....json` reference names a missing file (`vectors/dir/*.json`
//!   stands for every JSON file of that folder and needs at least one).
//!
//! Every failure of a kind is listed in one message, so one run shows all of them.

#![allow(clippy::panic)] // helpers outside #[test] fns report unreadable input files

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

/// The XEPs whose every id the matrix must map.
const XEPS: [&str; 4] = ["XEP0116", "XEP0200", "XEP0155", "XEP0187"];

fn manifest_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The workspace root (the conformance crate is one folder below it).
fn repo_root() -> PathBuf {
    manifest_dir().join("..")
}

/// Splits a pipe-table row into trimmed cells (without the outer pipes).
fn cells(line: &str) -> Vec<String> {
    let inner = line.trim().trim_start_matches('|').trim_end_matches('|');
    inner.split('|').map(|c| c.trim().to_string()).collect()
}

/// True for a table row whose first cell is an id of one of the XEPs.
fn id_of(line: &str) -> Option<String> {
    let line = line.trim();
    if !line.starts_with('|') {
        return None;
    }
    let first = cells(line).into_iter().next()?;
    let (xep, num) = first.split_once('-')?;
    if XEPS.contains(&xep) && num.len() == 3 && num.bytes().all(|b| b.is_ascii_digit()) {
        Some(first)
    } else {
        None
    }
}

/// id -> level, from `vectors/specs/requirements.md`.
fn requirements() -> BTreeMap<String, String> {
    let path = repo_root().join("vectors/specs/requirements.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut out = BTreeMap::new();
    for line in text.lines() {
        if let Some(id) = id_of(line) {
            let level = cells(line).get(1).cloned().unwrap_or_default();
            assert!(
                out.insert(id.clone(), level).is_none(),
                "requirements.md numbers {id} twice"
            );
        }
    }
    out
}

/// One matrix row.
struct Row {
    line_no: usize,
    id: String,
    level: String,
    proof: String,
}

fn matrix() -> Vec<Row> {
    let path = repo_root().join("docs/conformance.md");
    let text = fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(id) = id_of(line) {
            let c = cells(line);
            assert!(
                c.len() == 3,
                "docs/conformance.md line {}: {id} has {} cells, want 3 (a `|` inside a cell?)",
                i + 1,
                c.len()
            );
            rows.push(Row {
                line_no: i + 1,
                id,
                level: c[1].clone(),
                proof: c[2].clone(),
            });
        }
    }
    rows
}

/// The backticked spans of a cell.
fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// True when `text` holds `fn name` as a whole word preceded (through
/// attributes, doc comments and blank lines) by a `#[test]` attribute.
fn has_test_fn(text: &str, name: &str) -> bool {
    let lines: Vec<&str> = text.lines().collect();
    for (i, line) in lines.iter().enumerate() {
        let Some(pos) = line.find(&format!("fn {name}")) else {
            continue;
        };
        let after = line[pos + 3 + name.len()..].chars().next();
        if after.is_some_and(|c| c.is_alphanumeric() || c == '_') {
            continue;
        }
        // Walk back over the attributes and comments of this item.
        for prev in lines[..i].iter().rev().take(12) {
            let p = prev.trim();
            if p.starts_with("#[test]") || p.starts_with("#[tokio::test") {
                return true;
            }
            if p.ends_with('}') || p.ends_with(';') || p.contains("fn ") {
                break;
            }
        }
    }
    false
}

/// Checks one reference; `Err` says what is wrong with it.
fn check_reference(root: &Path, reference: &str) -> Result<(), String> {
    if let Some((file, name)) = reference.split_once(".rs::") {
        let file = format!("{file}.rs");
        let text = fs::read_to_string(root.join(&file))
            .map_err(|e| format!("`{reference}`: cannot read {file}: {e}"))?;
        if name.is_empty() || !name.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return Err(format!("`{reference}`: `{name}` is not a function name"));
        }
        if has_test_fn(&text, name) {
            Ok(())
        } else {
            Err(format!("`{reference}`: no #[test] fn {name} in {file}"))
        }
    } else if reference.ends_with(".json") {
        if !reference.starts_with("vectors/") {
            return Err(format!("`{reference}`: vector files live under vectors/"));
        }
        if let Some(dir) = reference.strip_suffix("*.json") {
            let count = fs::read_dir(root.join(dir))
                .map_err(|e| format!("`{reference}`: {e}"))?
                .filter_map(Result::ok)
                .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
                .count();
            if count == 0 {
                return Err(format!("`{reference}`: no JSON file in {dir}"));
            }
            Ok(())
        } else if root.join(reference).is_file() {
            Ok(())
        } else {
            Err(format!("`{reference}`: no such vector file"))
        }
    } else {
        Err(format!(
            "`{reference}` is neither `path/file.rs::test_name` nor `vectors/....json`"
        ))
    }
}

/// True when a span looks like a reference (and so must resolve even in an
/// n/a or not-yet-tested cell).
fn looks_like_reference(span: &str) -> bool {
    span.contains(".rs::") || span.ends_with(".json")
}

#[test]
fn every_requirement_id_is_mapped_once() {
    let reqs = requirements();
    for xep in XEPS {
        assert!(
            reqs.keys().any(|id| id.starts_with(xep)),
            "requirements.md has no {xep} id"
        );
    }
    let rows = matrix();
    let mut seen = BTreeSet::new();
    let mut twice = Vec::new();
    let mut unknown = Vec::new();
    let mut wrong_level = Vec::new();
    for row in &rows {
        if !seen.insert(row.id.clone()) {
            twice.push(format!("{} (line {})", row.id, row.line_no));
        }
        match reqs.get(&row.id) {
            None => unknown.push(row.id.clone()),
            Some(level) if *level != row.level => wrong_level.push(format!(
                "{}: matrix says {}, requirements.md {level}",
                row.id, row.level
            )),
            Some(_) => {}
        }
    }
    let missing: Vec<&String> = reqs.keys().filter(|id| !seen.contains(*id)).collect();
    assert!(
        missing.is_empty(),
        "{} ids missing from docs/conformance.md: {missing:?}",
        missing.len()
    );
    assert!(twice.is_empty(), "ids mapped twice: {twice:?}");
    assert!(
        unknown.is_empty(),
        "ids not in requirements.md: {unknown:?}"
    );
    assert!(wrong_level.is_empty(), "levels differ: {wrong_level:?}");
}

#[test]
fn every_row_is_proven_or_explained_and_every_reference_resolves() {
    let root = repo_root();
    let mut problems = Vec::new();
    for row in matrix() {
        let at = format!("{} (line {})", row.id, row.line_no);
        if row.proof.is_empty() {
            problems.push(format!("{at}: empty proven-by cell"));
            continue;
        }
        if row.proof.starts_with("not yet tested:") {
            problems.push(format!(
                "{at}: not yet tested (prove it or give an n/a reason)"
            ));
            continue;
        }
        let explained = row.proof.starts_with("n/a:");
        if explained {
            let reason = row.proof.split_once(':').map_or("", |(_, r)| r.trim());
            if reason.is_empty() {
                problems.push(format!("{at}: n/a without a reason"));
            }
        }
        let spans = backticked(&row.proof);
        if !explained && spans.is_empty() {
            problems.push(format!("{at}: claims a proof but names no reference"));
        }
        for span in spans {
            if explained && !looks_like_reference(span) {
                continue;
            }
            if let Err(e) = check_reference(&root, span) {
                problems.push(format!("{at}: {e}"));
            }
        }
    }
    assert!(
        problems.is_empty(),
        "{} problems in docs/conformance.md:\n{}",
        problems.len(),
        problems.join("\n")
    );
}

#[test]
fn the_checker_itself_tells_good_from_bad_references() {
    let root = repo_root();
    assert!(
        check_reference(
            &root,
            "conformance/tests/matrix.rs::the_checker_itself_tells_good_from_bad_references"
        )
        .is_ok()
    );
    // `check_reference` exists but is no #[test].
    assert!(check_reference(&root, "conformance/tests/matrix.rs::check_reference").is_err());
    assert!(check_reference(&root, "conformance/tests/matrix.rs::no_such_test").is_err());
    assert!(check_reference(&root, "conformance/tests/nope.rs::x").is_err());
    assert!(check_reference(&root, "vectors/nope/none.json").is_err());
    assert!(check_reference(&root, "vectors/primitives/*.json").is_ok());
    assert!(check_reference(&root, "esession_crypto::dh::tests::x").is_err());
    assert_eq!(backticked("a `x` b `y.json`"), vec!["x", "y.json"]);
    assert_eq!(
        id_of("| XEP0116-001 | MAY | `a` |").as_deref(),
        Some("XEP0116-001")
    );
    assert_eq!(id_of("| id | level | proven by |"), None);
}
