//! The commands of `esession chat`: what the user types, or the lines of
//! `--script`.
//!
//! A line is a message to send, unless it starts with `/`:
//!
//! | line | what it does |
//! |---|---|
//! | `text` | send `text` encrypted (waits until a session can carry it) |
//! | `//text` | send `/text` |
//! | `/rekey` | re-key (XEP-0200 §7) with the next message: its `<key/>` rides in that stanza |
//! | `/confirm` | the SAS matched: mark the retained secret verified |
//! | `/wait N` | wait until N messages were received in this run |
//! | `/wait-end` | wait until the contact terminates the session |
//! | `/sleep MS` | pause MS milliseconds |
//! | `/quit` | terminate the session (if any), disconnect, exit |
//! | `/help` | list the commands |
//!
//! Empty lines and lines starting with `#` are skipped.

/// One command.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Send a message.
    Send(String),
    /// Re-key before the next message.
    Rekey,
    /// The user confirmed the SAS.
    Confirm,
    /// Wait until this many messages were received.
    Wait(usize),
    /// Wait until the contact terminated the session.
    WaitEnd,
    /// Pause.
    Sleep(u64),
    /// Terminate, disconnect and exit.
    Quit,
    /// Print the commands.
    Help,
}

/// The help text of the commands.
pub const HELP: &str = "commands: TEXT (send), //TEXT (send /TEXT), /rekey, /confirm, /wait N, \
/wait-end, /sleep MS, /quit, /help";

/// Parses one line; `Ok(None)` for a blank or comment line.
pub fn parse(line: &str) -> Result<Option<Command>, String> {
    let line = line.trim_end_matches(['\r', '\n']);
    if line.trim().is_empty() || line.starts_with('#') {
        return Ok(None);
    }
    if let Some(rest) = line.strip_prefix("//") {
        return Ok(Some(Command::Send(format!("/{rest}"))));
    }
    let Some(cmd) = line.strip_prefix('/') else {
        return Ok(Some(Command::Send(line.to_owned())));
    };
    let mut words = cmd.split_whitespace();
    let name = words.next().unwrap_or_default();
    let arg = words.next();
    if words.next().is_some() {
        return Err(format!("/{name}: too many arguments"));
    }
    let number = |what: &str| -> Result<u64, String> {
        arg.ok_or_else(|| format!("/{name} needs {what}"))?
            .parse::<u64>()
            .map_err(|_| format!("/{name}: {what} must be a whole number"))
    };
    let no_arg = |c: Command| match arg {
        None => Ok(Some(c)),
        Some(_) => Err(format!("/{name} takes no argument")),
    };
    match name {
        "rekey" => no_arg(Command::Rekey),
        "confirm" => no_arg(Command::Confirm),
        "wait-end" => no_arg(Command::WaitEnd),
        "quit" => no_arg(Command::Quit),
        "help" => no_arg(Command::Help),
        "wait" => {
            let n = usize::try_from(number("a count")?).map_err(|e| e.to_string())?;
            Ok(Some(Command::Wait(n)))
        }
        "sleep" => Ok(Some(Command::Sleep(number("milliseconds")?))),
        other => Err(format!("unknown command /{other} ({HELP})")),
    }
}

/// Parses a whole script; the error names the line.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let mut v = Vec::new();
    for (i, line) in text.lines().enumerate() {
        if let Some(c) = parse(line).map_err(|e| format!("line {}: {e}", i + 1))? {
            v.push(c);
        }
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_parse_to_commands() {
        let s =
            "hello\n# comment\n\n//slash\n/rekey\n/wait 20\n/sleep 5\n/wait-end\n/confirm\n/quit\n";
        assert_eq!(
            parse_script(s).unwrap(),
            vec![
                Command::Send("hello".into()),
                Command::Send("/slash".into()),
                Command::Rekey,
                Command::Wait(20),
                Command::Sleep(5),
                Command::WaitEnd,
                Command::Confirm,
                Command::Quit,
            ]
        );
    }

    #[test]
    fn bad_commands_name_their_line() {
        assert_eq!(
            parse_script("ok\n/wait x").unwrap_err(),
            "line 2: /wait: a count must be a whole number"
        );
        assert!(
            parse_script("/frobnicate")
                .unwrap_err()
                .contains("unknown command")
        );
        assert!(
            parse_script("/quit now")
                .unwrap_err()
                .contains("no argument")
        );
    }
}
