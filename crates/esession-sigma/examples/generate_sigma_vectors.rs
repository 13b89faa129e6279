//! Writes the xep-profile scenarios of `vectors/sigma/` as `<name>-new.json`.
//!
//! Usage (from the repository root):
//!
//! ```text
//! cargo run -p esession-sigma --example generate_sigma_vectors
//! python3 vectors/tools/rederive_sigma.py          # checks the committed files
//! for f in vectors/sigma/*-new.json; do mv "$f" "${f%-new.json}.json"; done
//! python3 vectors/tools/rederive_sigma.py          # and the new ones
//! ```
//!
//! `*-new.json` is gitignored and ignored by the conformance build (STYLE.md §6), so a
//! fresh run can be compared with the committed files before it replaces them. The
//! scenarios and the seeded randomness are in `tests/common/generator.rs`; the test
//! `xep_vectors_regenerate_identically` checks that the committed files are exactly its
//! output.

// A developer tool over fixed inputs: a failure here is a bug to fix, not an input error.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

#[path = "../tests/common/generator.rs"]
#[allow(dead_code, unreachable_pub)]
mod generator;

fn main() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/sigma");
    std::fs::create_dir_all(&dir).unwrap();
    for sc in generator::SCENARIOS {
        let path = dir.join(format!("{}-new.json", sc.name));
        std::fs::write(&path, generator::render(&generator::build(sc))).unwrap();
        println!("wrote {}", path.display());
    }
}
