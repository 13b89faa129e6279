//! The committed xep-profile files of vectors/sigma/ are exactly what the seeded
//! generator (tests/common/generator.rs) produces today: a change in the key schedule
//! that alters any byte shows up here, and again in the independent Python check
//! (vectors/tools/rederive_sigma.py).

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // test helpers outside #[test] fns

#[allow(dead_code, unreachable_pub)]
mod common {
    pub mod generator;
}

#[test]
fn xep_vectors_regenerate_identically() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../vectors/sigma");
    assert!(common::generator::SCENARIOS.len() >= 6);
    for sc in common::generator::SCENARIOS {
        let path = dir.join(format!("{}.json", sc.name));
        let committed =
            std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let fresh = common::generator::render(&common::generator::build(sc));
        assert!(
            committed == fresh,
            "{} differs from the generator's output",
            sc.name
        );
    }
}
