//! Messages for people on stderr, in nix's style (`error: ...`,
//! `warning: ...`), the prefix coloured as nix colours it when stderr is a
//! terminal. Writing them never fails a run: a closed stderr (say
//! `nixp resolve --explain foo 2>&1 | head -1`) is not a crash.

use std::fmt::Display;
use std::io::{IsTerminal, Write};
use std::sync::OnceLock;

/// nix's colours for the prefixes (`ANSI_RED`, `ANSI_WARNING`).
const RED: &str = "\x1b[31;1m";
const MAGENTA: &str = "\x1b[35;1m";
const NORMAL: &str = "\x1b[0m";

/// `error: MSG`.
pub(crate) fn error(msg: impl Display) {
    text(&format!("{}error:{} {msg}\n", paint(RED), paint(NORMAL)));
}

/// `warning: MSG`.
pub(crate) fn warning(msg: impl Display) {
    text(&format!(
        "{}warning:{} {msg}\n",
        paint(MAGENTA),
        paint(NORMAL)
    ));
}

/// Any text, as is (clearing the progress line first, if one shows).
pub(crate) fn text(s: &str) {
    crate::progress::above(|| {
        let _ = std::io::stderr().lock().write_all(s.as_bytes());
    });
}

/// `code` when stderr is coloured, else nothing.
fn paint(code: &str) -> &str {
    match colour() {
        true => code,
        false => "",
    }
}

/// Whether stderr is coloured, by nix's rules: never with `NO_COLOR` or
/// `NOCOLOR` set; always with `FORCE_COLOR` or `CLICOLOR_FORCE` set (nix
/// 2.19 and later); else on a terminal whose `TERM` is set and not `dumb`.
pub(crate) fn colour() -> bool {
    static COLOUR: OnceLock<bool> = OnceLock::new();
    *COLOUR.get_or_init(|| {
        colour_by(
            |k| std::env::var_os(k).is_some(),
            std::env::var("TERM").ok().as_deref(),
            std::io::stderr().is_terminal(),
        )
    })
}

fn colour_by(set: impl Fn(&str) -> bool, term: Option<&str>, terminal: bool) -> bool {
    if set("NO_COLOR") || set("NOCOLOR") {
        return false;
    }
    if set("FORCE_COLOR") || set("CLICOLOR_FORCE") {
        return true;
    }
    terminal && term.is_some_and(|t| t != "dumb")
}

#[cfg(test)]
mod tests {
    use super::colour_by;

    #[test]
    fn colour_follows_nix_s_rules() {
        let none = |_: &str| false;
        let only = |v: &'static str| move |k: &str| k == v;
        assert!(colour_by(none, Some("xterm"), true));
        assert!(!colour_by(none, Some("xterm"), false));
        assert!(!colour_by(none, Some("dumb"), true));
        assert!(!colour_by(none, None, true));
        assert!(!colour_by(only("NO_COLOR"), Some("xterm"), true));
        assert!(!colour_by(only("NOCOLOR"), Some("xterm"), true));
        assert!(colour_by(only("FORCE_COLOR"), None, false));
        assert!(colour_by(only("CLICOLOR_FORCE"), Some("dumb"), false));
    }
}
