//! Runner for `vectors/primitives/` (not written yet).

use crate::CaseResult;

/// Runs one file of `vectors/primitives/`.
pub fn run(path: &str, _file: &serde_json::Value) -> Result<Vec<CaseResult>, String> {
    Err(format!("no runner for {path} yet"))
}
