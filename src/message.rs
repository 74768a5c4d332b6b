//! Messages for people on stderr, in nix's style (`error: ...`,
//! `warning: ...`). Writing them never fails a run: a closed stderr (say
//! `nixp resolve --explain foo 2>&1 | head -1`) is not a crash.

use std::fmt::Display;
use std::io::Write;

/// `error: MSG`.
pub(crate) fn error(msg: impl Display) {
    text(&format!("error: {msg}\n"));
}

/// `warning: MSG`.
pub(crate) fn warning(msg: impl Display) {
    text(&format!("warning: {msg}\n"));
}

/// Any text, as is.
pub(crate) fn text(s: &str) {
    let _ = std::io::stderr().lock().write_all(s.as_bytes());
}
