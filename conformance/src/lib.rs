//! The esession conformance suite.
//!
//! Every JSON file under `vectors/` is embedded at build time (see `build.rs`) and
//! dispatched by its top-level folder to a suite module:
//!
//! | folder         | suite                  | what it checks |
//! |----------------|------------------------|----------------|
//! | `primitives/`  | [`suites::primitives`] | `esession-crypto` against RFC, NIST and Wycheproof data |
//! | `sigma/`       | [`suites::sigma`]      | the XEP-0188 key schedule (`esession-sigma`) |
//! | `wire/`        | [`suites::wire`]       | XML parsing and normalization (`esession-wire`) |
//! | `online/`      | [`suites::online`]     | whole XEP-0116/XEP-0200 sessions replayed with pinned randomness (`esession-online`) |
//! | `offline/`     | [`suites::offline`]    | XEP-0187 offline sessions re-derived and replayed (`esession-offline`) |
//!
//! Each vector ends as [`Outcome::Pass`], [`Outcome::Fail`] or
//! [`Outcome::Skip`] (which always names its reason). A file that runs no vector at
//! all counts as a failure: a suite that silently tests nothing proves nothing.

use std::fmt;

pub mod suites;

mod files {
    include!(concat!(env!("OUT_DIR"), "/vectors.rs"));
}

/// Every embedded vector file: (path relative to `vectors/`, contents).
pub fn vector_files() -> &'static [(&'static str, &'static str)] {
    files::FILES
}

/// How one vector ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The implementation produced exactly the expected result.
    Pass,
    /// It did not; the string says what differed.
    Fail(String),
    /// Not run; the string says why (for example an algorithm we do not offer).
    Skip(String),
}

/// The result of one vector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CaseResult {
    /// The vector's name (or `tcId` for Wycheproof cases).
    pub name: String,
    /// How it ended.
    pub outcome: Outcome,
}

/// The results of one vector file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FileReport {
    /// Path relative to `vectors/`.
    pub file: String,
    /// The file's `source` field: where its data comes from.
    pub source: String,
    /// One entry per vector.
    pub cases: Vec<CaseResult>,
    /// A file-level failure (unreadable JSON, unknown folder, no runner).
    pub error: Option<String>,
}

impl FileReport {
    /// Number of passed vectors.
    pub fn passed(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| c.outcome == Outcome::Pass)
            .count()
    }
    /// Number of failed vectors, plus one if the file itself failed or ran nothing.
    pub fn failed(&self) -> usize {
        let cases = self
            .cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
            .count();
        cases + usize::from(self.error.is_some() || self.ran_nothing())
    }
    /// Number of skipped vectors.
    pub fn skipped(&self) -> usize {
        self.cases
            .iter()
            .filter(|c| matches!(c.outcome, Outcome::Skip(_)))
            .count()
    }
    /// True if no vector of the file ran (all skipped, or none at all).
    pub fn ran_nothing(&self) -> bool {
        self.passed()
            + self
                .cases
                .iter()
                .filter(|c| matches!(c.outcome, Outcome::Fail(_)))
                .count()
            == 0
    }
}

/// Totals over a whole run.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Summary {
    /// Vectors passed.
    pub passed: usize,
    /// Vectors failed (and files that failed or ran nothing).
    pub failed: usize,
    /// Vectors skipped.
    pub skipped: usize,
}

impl fmt::Display for Summary {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} passed, {} failed, {} skipped",
            self.passed, self.failed, self.skipped
        )
    }
}

/// Runs one file's contents, dispatching on its folder.
pub fn run_file(path: &str, contents: &str) -> FileReport {
    let mut report = FileReport {
        file: path.to_owned(),
        ..FileReport::default()
    };
    let json: serde_json::Value = match serde_json::from_str(contents) {
        Ok(v) => v,
        Err(e) => {
            report.error = Some(format!("invalid JSON: {e}"));
            return report;
        }
    };
    report.source = json
        .get("source")
        .and_then(|s| s.as_str())
        .unwrap_or_default()
        .to_owned();
    if report.source.is_empty() {
        report.error = Some("the file names no source".to_owned());
        return report;
    }
    let folder = path.split('/').next().unwrap_or_default();
    let result = match folder {
        "primitives" => suites::primitives::run(path, &json),
        "sigma" => suites::sigma::run(path, &json),
        "wire" => suites::wire::run(path, &json),
        "offline" => suites::offline::run(path, &json),
        "online" => suites::online::run(path, &json),
        other => Err(format!("no suite for folder {other:?}")),
    };
    match result {
        Ok(cases) => report.cases = cases,
        Err(e) => report.error = Some(e),
    }
    report
}

/// Runs every embedded vector file.
pub fn run_all() -> (Vec<FileReport>, Summary) {
    let mut reports: Vec<FileReport> = vector_files()
        .iter()
        .map(|(path, contents)| run_file(path, contents))
        .collect();
    // The negative suite reads no vector file: its cases are in code.
    reports.push(suites::negative::report());
    let mut summary = Summary::default();
    for r in &reports {
        summary.passed += r.passed();
        summary.failed += r.failed();
        summary.skipped += r.skipped();
    }
    (reports, summary)
}

/// Renders one file's report as a small table: a header line, then one line per
/// vector that did not pass (passes are counted, not listed).
pub fn render(report: &FileReport) -> String {
    render_with(report, false)
}

/// Like [`render`]; with `verbose`, passing vectors are listed too (`ok NAME`).
pub fn render_with(report: &FileReport, verbose: bool) -> String {
    use fmt::Write as _;
    let mut s = String::new();
    let _ = writeln!(
        s,
        "{:<48} {:>6} passed {:>4} failed {:>4} skipped   ({})",
        report.file,
        report.passed(),
        report.failed(),
        report.skipped(),
        report.source
    );
    if let Some(e) = &report.error {
        let _ = writeln!(s, "    FILE ERROR: {e}");
    } else if report.ran_nothing() {
        let _ = writeln!(s, "    FILE ERROR: no vector ran");
    }
    for case in &report.cases {
        match &case.outcome {
            Outcome::Pass => {
                if verbose {
                    let _ = writeln!(s, "    ok   {}", case.name);
                }
            }
            Outcome::Fail(why) => {
                let _ = writeln!(s, "    FAIL {}: {why}", case.name);
            }
            Outcome::Skip(why) => {
                let _ = writeln!(s, "    skip {}: {why}", case.name);
            }
        }
    }
    s
}

/// Small helpers the suites share for reading vector JSON.
pub mod json {
    use serde_json::Value;

    /// The `vectors` array of a file.
    pub fn vectors(file: &Value) -> Result<&Vec<Value>, String> {
        file.get("vectors")
            .and_then(Value::as_array)
            .ok_or_else(|| "no \"vectors\" array".to_owned())
    }

    /// A string field.
    pub fn str_field<'a>(v: &'a Value, key: &str) -> Result<&'a str, String> {
        v.get(key)
            .and_then(Value::as_str)
            .ok_or_else(|| format!("missing string field {key:?}"))
    }

    /// A lowercase-hex field, decoded.
    pub fn hex_field(v: &Value, key: &str) -> Result<Vec<u8>, String> {
        hex::decode(str_field(v, key)?).map_err(|e| format!("field {key:?}: bad hex: {e}"))
    }

    /// An unsigned integer field.
    pub fn u64_field(v: &Value, key: &str) -> Result<u64, String> {
        v.get(key)
            .and_then(Value::as_u64)
            .ok_or_else(|| format!("missing integer field {key:?}"))
    }

    /// The vector's `name`, or a placeholder.
    pub fn name(v: &Value, index: usize) -> String {
        v.get("name")
            .and_then(Value::as_str)
            .map_or_else(|| format!("#{index}"), str::to_owned)
    }
}
