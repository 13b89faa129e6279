//! Runner for `vectors/wire/` (not written yet).

use crate::CaseResult;

/// Runs one file of `vectors/wire/`.
pub fn run(path: &str, _file: &serde_json::Value) -> Result<Vec<CaseResult>, String> {
    Err(format!("no runner for {path} yet"))
}
