//! One module per vector folder. Each exposes
//! `run(path, file_json) -> Result<Vec<CaseResult>, String>`: `Err` for a
//! file-level problem, otherwise one [`crate::CaseResult`] per vector.

pub mod negative;
pub mod offline;
pub mod online;
pub mod primitives;
pub mod sigma;
pub mod wire;
