//! `cargo test` runs the whole conformance suite and fails on any failed vector
//! or on a file that ran no vector.

#[test]
fn every_vector_file_passes() {
    let (reports, summary) = esession_conformance::run_all();
    let mut failures = String::new();
    for r in &reports {
        if r.failed() > 0 {
            failures.push_str(&esession_conformance::render(r));
        }
    }
    assert!(
        failures.is_empty(),
        "conformance failures:\n{failures}\n{summary}"
    );
    assert!(summary.passed > 0, "no vector ran");
}

#[test]
fn every_folder_has_vectors() {
    let files = esession_conformance::vector_files();
    for folder in ["primitives/", "sigma/", "wire/"] {
        assert!(
            files.iter().any(|(p, _)| p.starts_with(folder)),
            "no vector file under vectors/{folder}"
        );
    }
}
