//! `cargo run -p esession-conformance`: runs every vector file and prints a table
//! per file, then the line `N passed, M failed, K skipped`. Exits 1 on any failure.
//!
//! `--verbose` (or `-v`) lists every vector, passing ones included.

use std::process::ExitCode;

fn main() -> ExitCode {
    let verbose = std::env::args()
        .skip(1)
        .any(|a| a == "--verbose" || a == "-v");
    let (reports, summary) = esession_conformance::run_all();
    for r in &reports {
        print!("{}", esession_conformance::render_with(r, verbose));
    }
    println!();
    println!("{summary}");
    if summary.failed == 0 && summary.passed > 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}
