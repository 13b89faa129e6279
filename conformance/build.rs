//! Embeds every `vectors/**/*.json` file with `include_str!`, so the runner does
//! not depend on the working directory and a new vector file is picked up
//! without touching the code.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

/// Folders of published data kept as it was published, not in the vector-file
/// layout: `interop/` holds the Gajim recordings, which the importers convert
/// into `sigma/` and `wire/` files (those are run).
const AS_PUBLISHED: &[&str] = &["interop"];

fn collect(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            collect(&path, out);
        } else if path.extension().is_some_and(|e| e == "json")
            && !path.to_string_lossy().ends_with("-new.json")
        {
            out.push(path);
        }
    }
}

fn main() {
    let manifest = PathBuf::from(std::env::var("CARGO_MANIFEST_DIR").unwrap_or_default());
    let vectors = manifest.join("..").join("vectors");
    println!("cargo:rerun-if-changed={}", vectors.display());
    let mut files = Vec::new();
    collect(&vectors, &mut files);
    files.retain(|f| {
        !AS_PUBLISHED
            .iter()
            .any(|folder| f.starts_with(vectors.join(folder)))
    });
    files.sort();
    let mut src = String::from(
        "/// Every vector file, as (path relative to vectors/, contents).\npub(crate) static FILES: &[(&str, &str)] = &[\n",
    );
    for f in &files {
        println!("cargo:rerun-if-changed={}", f.display());
        if let Some(parent) = f.parent() {
            println!("cargo:rerun-if-changed={}", parent.display());
        }
        let rel = f
            .strip_prefix(&vectors)
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        let _ = writeln!(
            src,
            "    ({rel:?}, include_str!({:?})),",
            f.display().to_string()
        );
    }
    src.push_str("];\n");
    let out = PathBuf::from(std::env::var("OUT_DIR").unwrap_or_default()).join("vectors.rs");
    if let Err(e) = std::fs::write(&out, src) {
        println!("cargo:warning=cannot write {}: {e}", out.display());
    }
}
