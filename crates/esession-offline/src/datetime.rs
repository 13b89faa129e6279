//! XEP-0082 DateTime for the `expires` field (DECISIONS D47).
//!
//! Written `YYYY-MM-DDThh:mm:ssZ` (UTC, whole seconds); any XEP-0082
//! DateTime (fractional seconds, `±hh:mm` offsets) is read. chrono's RFC 3339
//! parser reads exactly that profile.

use std::time::SystemTime;

use chrono::{DateTime, SecondsFormat, Utc};

use crate::Error;

/// Writes `t` as `YYYY-MM-DDThh:mm:ssZ`, truncated to whole seconds.
pub fn format_expires(t: SystemTime) -> String {
    DateTime::<Utc>::from(t).to_rfc3339_opts(SecondsFormat::Secs, true)
}

/// Reads an XEP-0082 DateTime.
pub fn parse_expires(s: &str) -> Result<SystemTime, Error> {
    let dt = DateTime::parse_from_rfc3339(s).map_err(|_| Error::BadExpires)?;
    Ok(SystemTime::from(dt.with_timezone(&Utc)))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn xep0082_examples() {
        // XEP-0082 §3.2 examples.
        let a = parse_expires("1969-07-21T02:56:15Z").unwrap();
        let b = parse_expires("1969-07-20T21:56:15-05:00").unwrap();
        assert_eq!(a, b);
        let c = parse_expires("2006-06-09T02:56:15.123Z").unwrap();
        assert_eq!(
            c,
            SystemTime::UNIX_EPOCH + Duration::from_millis(1_149_821_775_123)
        );
        assert_eq!(
            format_expires(SystemTime::UNIX_EPOCH + Duration::from_millis(1_149_821_775_999)),
            "2006-06-09T02:56:15Z"
        );
        assert!(parse_expires("2006-06-09 02:56:15").is_err());
    }
}
