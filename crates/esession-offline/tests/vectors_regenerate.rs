//! The committed vectors/offline/*.json are exactly what the seeded generator
//! (tests/common/generator.rs) produces today. On a difference the fresh
//! output is written next to the file as `<name>-new.json` (gitignored) for
//! review; copy it over the committed file to accept it.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // helpers outside #[test] fns

#[allow(dead_code, unreachable_pub)]
mod common {
    pub mod generator;
}

#[test]
fn offline_vectors_regenerate_identically() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/offline");
    assert!(common::generator::SCENARIOS.len() >= 2);
    let mut differ = Vec::new();
    for sc in common::generator::SCENARIOS {
        let path = dir.join(format!("{}.json", sc.name));
        let fresh = common::generator::render(&common::generator::build_with_failure(sc));
        let committed = std::fs::read_to_string(&path).unwrap_or_default();
        if committed != fresh {
            std::fs::write(dir.join(format!("{}-new.json", sc.name)), &fresh).unwrap();
            differ.push(sc.name);
        }
    }
    assert!(
        differ.is_empty(),
        "differ from the generator (see *-new.json): {differ:?}"
    );
}
