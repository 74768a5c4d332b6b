//! What went wrong, read from nix's stderr as each version prints it.
//!
//! nix 2.8 prints `error: MESSAGE` on one line, then the position and the
//! code. From 2.13 (and in Lix and Determinate Nix) an error with a trace
//! is `error:` alone, then indented `… while …` context lines with their
//! positions, outermost first, then the cause as a nested `error: MESSAGE`
//! line; an error without a trace is still one line. On a terminal,
//! `error:` is coloured. nixp keeps the innermost cause and the position
//! nearest to it, which says where to look.

/// The cause nix gave, without `error: `: the first error line's message,
/// or, when that line is `error:` alone, the innermost cause; followed by
/// `(at FILE:LINE:COL)` when nix named a position for it. Without an
/// error line: nix's last line; without any, "nix failed".
pub(crate) fn cause(stderr: &[u8]) -> String {
    let text = strip_colour(&String::from_utf8_lossy(stderr));
    let lines: Vec<&str> = text.lines().map(str::trim).collect();
    let Some(first) = lines.iter().position(|l| error_text(l).is_some()) else {
        return lines
            .iter()
            .rev()
            .find(|l| !l.is_empty())
            .map_or_else(|| "nix failed".to_string(), |l| l.to_string());
    };
    let block = &lines[first..];
    // The innermost error line with a message: the first line itself (nix
    // 2.8, or an error without a trace), else the trace's last.
    let inner = if error_text(block[0]).is_some_and(|m| !m.is_empty()) {
        Some(0)
    } else {
        block
            .iter()
            .rposition(|l| error_text(l).is_some_and(|m| !m.is_empty()))
    };
    let Some(inner) = inner else {
        // `error:` with an empty message (`throw ""`): say so, with the
        // innermost context nix gave.
        let context = block.iter().rev().find_map(|l| l.strip_prefix('…'));
        return match context {
            Some(c) => format!("nix gave no message ({})", c.trim()),
            None => "nix gave no message".to_string(),
        };
    };
    let cause = error_text(block[inner])
        .unwrap_or_default()
        .trim_end_matches([';', ':']);
    // The cause's own position follows it; a `throw`'s is the last one
    // before it (the call that threw).
    let position = block[inner + 1..]
        .iter()
        .take_while(|l| error_text(l).is_none() && !l.starts_with('…'))
        .find_map(|l| position(l))
        .or_else(|| block[..inner].iter().rev().find_map(|l| position(l)));
    match position {
        Some(at) => format!("{cause} (at {at})"),
        None => cause.to_string(),
    }
}

/// The message of an `error:` line (maybe empty), or `None` for any other.
fn error_text(line: &str) -> Option<&str> {
    line.strip_prefix("error:").map(str::trim)
}

/// `FILE:LINE:COL` of a position line `at FILE:LINE:COL:`.
fn position(line: &str) -> Option<&str> {
    let at = line.strip_prefix("at ")?.trim_end_matches(':');
    at.rsplit(':')
        .take(2)
        .all(|n| !n.is_empty() && n.bytes().all(|b| b.is_ascii_digit()))
        .then_some(at)
}

/// `text` without the terminal's colour and style codes (`ESC [ … m`).
pub(crate) fn strip_colour(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\u{1b}' {
            out.push(c);
            continue;
        }
        if chars.next() == Some('[') {
            for c in chars.by_ref() {
                if c.is_ascii_alphabetic() {
                    break;
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::cause;

    /// What each nix printed (store hashes shortened), and the cause kept.
    const CASES: &[(&str, &str, &str)] = &[
        (
            "nix 2.8: the cause on the first line, its position below",
            "error: attribute 'nope' missing\n\n       at /nix/store/j-source/flake.nix:1:81:\n\n            1| { outputs = … }\n             |  ^\n",
            "attribute 'nope' missing (at /nix/store/j-source/flake.nix:1:81)",
        ),
        (
            "nix 2.26: the same error without a trace",
            "error: attribute 'nope' missing\n       at /nix/store/j-source/flake.nix:1:81:\n            1| { outputs = … }\n",
            "attribute 'nope' missing (at /nix/store/j-source/flake.nix:1:81)",
        ),
        (
            "a one-line error without a position",
            "error: syntax error, unexpected ';'\n",
            "syntax error, unexpected ';'",
        ),
        (
            "nix 2.26: a throw is the innermost cause, at the throw",
            "evaluating ''...\nevaluating 'packages'...\nerror:\n       … while calling the 'throw' builtin\n         at /nix/store/a-source/flake.nix:1:58:\n            1| { outputs = … }\n             |  ^\n            2|\n\n       error: boom from the flake\n",
            "boom from the flake (at /nix/store/a-source/flake.nix:1:58)",
        ),
        (
            "nix 2.26: a fetch error has no position",
            "warning: cannot parse flake registry '/dev/null'\nerror:\n       … while fetching the input 'git+file:///x/repo?ref=nope'\n\n       error: resolving Git reference 'nope': revspec 'nope' not found\n",
            "resolving Git reference 'nope': revspec 'nope' not found",
        ),
        (
            "nested causes: the innermost, at its own position",
            "error:\n       … while evaluating the attribute 'packages.x86_64-linux.a'\n         at /nix/store/b-source/flake.nix:2:3:\n\n       … while evaluating 'x'\n\n       error: attribute 'nope' missing\n       at /nix/store/b-source/lib.nix:7:9:\n            7| x.nope\n",
            "attribute 'nope' missing (at /nix/store/b-source/lib.nix:7:9)",
        ),
        (
            "Lix and nix ≥ 2.13 on a terminal: `error:` in bold red",
            "\u{1b}[31;1merror:\u{1b}[0m\n       \u{1b}[34;1m… while calling the '\u{1b}[35;1mthrow\u{1b}[0m' builtin\u{1b}[0m\n\n       \u{1b}[31;1merror:\u{1b}[0m boom\n",
            "boom",
        ),
        (
            "without an error line: the last line",
            "warning: a\nsomething odd\n\n",
            "something odd",
        ),
        ("nothing printed", "", "nix failed"),
        (
            "nix 2.26: `throw \"\"` inside `builtins.addErrorContext \"ctx\"`",
            "error:\n       … ctx\n\n       error:\n",
            "nix gave no message (ctx)",
        ),
        ("an empty error", "error:\n", "nix gave no message"),
        (
            "a builder's failure, without its semicolon",
            "error: builder for '/nix/store/x.drv' failed with exit code 3;\n       last 1 log lines:\n       > boom\n",
            "builder for '/nix/store/x.drv' failed with exit code 3",
        ),
    ];

    #[test]
    fn causes_as_each_version_prints_them() {
        for (what, printed, kept) in CASES {
            assert_eq!(cause(printed.as_bytes()), *kept, "{what}");
        }
    }
}
