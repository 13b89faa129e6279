//! Source scanning shared by the side-channel tests (`constant_time.rs`,
//! `zeroize.rs`): both read every crate's library source.
#![allow(dead_code, unreachable_pub)]

use std::path::{Path, PathBuf};

/// The workspace root.
pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The workspace's `crates/` directory.
pub fn crates_dir() -> PathBuf {
    workspace().join("crates")
}

/// Every `.rs` file under `dir`, recursively, appended to `out`.
fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Every crate's `src` files, sorted.
pub fn sources() -> Vec<PathBuf> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(crates_dir()).expect("crates/").flatten() {
        rust_files(&e.path().join("src"), &mut files);
    }
    files.sort();
    assert!(files.len() > 30, "found only {} source files", files.len());
    files
}
