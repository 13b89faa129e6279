//! `vectors/online/`: the transcript scenarios as esession-transcript/1 files
//! with every secret (issue 5), replayed by the conformance crate
//! (`conformance/src/suites/online.rs`) and re-derived by
//! `vectors/tools/rederive_online.py`.
//!
//! The committed files must be exactly what the seeded generator
//! (`tests/common_transcript`) produces today. To regenerate after an intended
//! change: `ESESSION_WRITE_ONLINE_VECTORS=1 cargo test -p esession-online --test
//! transcript_vectors`, which writes `vectors/online/<name>-new.json`
//! (gitignored); review, rename over the committed files, and commit.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

mod common_transcript;

use common_transcript::{SCENARIOS, render, run, vector};

#[test]
fn online_vectors_regenerate_identically() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/online");
    let write = std::env::var_os("ESESSION_WRITE_ONLINE_VECTORS").is_some();
    let mut differ = Vec::new();
    for sc in SCENARIOS {
        let fresh = render(&vector(sc, &run(sc)));
        if write {
            std::fs::create_dir_all(&dir).unwrap();
            std::fs::write(dir.join(format!("{}-new.json", sc.name)), &fresh).unwrap();
        }
        let path = dir.join(format!("{}.json", sc.name));
        match std::fs::read_to_string(&path) {
            Ok(committed) if committed == fresh => {}
            _ => differ.push(sc.name),
        }
    }
    assert!(
        differ.is_empty(),
        "vectors/online files differ from the generator's output: {differ:?}"
    );
}

/// No stray files: every committed vector comes from a scenario.
#[test]
fn online_vectors_all_come_from_scenarios() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/online");
    for entry in std::fs::read_dir(&dir).unwrap() {
        let name = entry.unwrap().file_name().into_string().unwrap();
        let Some(stem) = name.strip_suffix(".json") else {
            continue;
        };
        if stem.ends_with("-new") {
            continue;
        }
        assert!(
            SCENARIOS.iter().any(|s| s.name == stem),
            "vectors/online/{name} has no scenario"
        );
    }
}
