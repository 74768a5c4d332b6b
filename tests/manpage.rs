//! The man page `man/nixp.1`, made from the CLI definition (`nixp::cli`)
//! and the README's "Environment", "Files" and "Exit codes" tables. This
//! test fails when the committed page is stale; `scripts/man.sh` (this
//! test with `NIXP_WRITE_MAN=1`) writes it again. It is made here, when
//! nixp is built and tested, never when nixp runs.
#![allow(clippy::unwrap_used, clippy::panic)]
use clap::CommandFactory;
use std::fmt::Write;

/// Text for roff: backslashes and hyphens escaped, a leading dot or quote
/// kept from being read as a request.
fn roff(text: &str) -> String {
    let t = text.replace('\\', "\\e").replace('-', "\\-");
    match t.starts_with(['.', '\'']) {
        true => format!("\\&{t}"),
        false => t,
    }
}

/// README markdown inline text for roff: backticks dropped, links kept as
/// their text.
fn inline(md: &str) -> String {
    roff(&md.replace('`', "").replace("**", ""))
}

/// The rows of the first table under the README heading `## title`.
fn table(readme: &str, title: &str) -> Vec<(String, String)> {
    let start = readme
        .find(&format!("\n## {title}\n"))
        .unwrap_or_else(|| panic!("README has no '## {title}'"));
    let section = &readme[start + 1..];
    let end = section[3..].find("\n## ").map_or(section.len(), |e| e + 3);
    section[..end]
        .lines()
        .filter(|l| l.starts_with("| ") && !l.starts_with("| ---"))
        .skip(1)
        .map(|l| {
            let cells: Vec<&str> = l.trim_matches('|').split(" | ").map(str::trim).collect();
            (cells[0].to_string(), cells[1..].join(" | "))
        })
        .collect()
}

fn page() -> String {
    let readme =
        std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/README.md")).unwrap();
    let cli = nixp::cli::Cli::command();
    let mut s = String::new();
    writeln!(
        s,
        ".TH NIXP 1 \"\" \"nixp {}\" \"User Commands\"",
        env!("CARGO_PKG_VERSION")
    )
    .unwrap();
    writeln!(
        s,
        ".SH NAME\nnixp \\- {}",
        roff(&cli.get_about().unwrap().to_string())
    )
    .unwrap();
    s.push_str(".SH SYNOPSIS\n.B nixp\n.I NIX\\-ARGS...\n.br\n");
    for verb in cli.get_subcommands() {
        writeln!(
            s,
            ".B nixp {}\n.I {}\n.br",
            roff(verb.get_name()),
            usage_args(verb)
        )
        .unwrap();
    }
    writeln!(
        s,
        ".SH DESCRIPTION\n{}",
        roff(
            &cli.get_long_about()
                .unwrap()
                .to_string()
                .replace("\n\n", "\n.PP\n")
        )
    )
    .unwrap();
    s.push_str(".PP\n`nixp \\-\\-help', `nixp help' and `nixp' alone print nix's answer, then nixp's verbs and files; `nixp \\-\\-version' prints nix's version on stdout and nixp's on stderr.\n");
    s.push_str(".SH COMMANDS\n");
    for verb in cli.get_subcommands() {
        verb_section(&mut s, verb, &format!("nixp {}", verb.get_name()));
    }
    for (title, heading) in [
        ("Environment", "ENVIRONMENT"),
        ("Files", "FILES"),
        ("Exit codes", "EXIT STATUS"),
    ] {
        writeln!(s, ".SH {heading}").unwrap();
        for (key, meaning) in table(&readme, title) {
            writeln!(s, ".TP\n.B {}\n{}", inline(&key), inline(&meaning)).unwrap();
        }
    }
    s.push_str(".SH SEE ALSO\nnix(1), nix3\\-registry(1), the README of nixp.\n");
    s
}

/// `[OPTIONS] <NAME> <SOURCE>` for a verb (its subcommands as `ACTION`).
fn usage_args(cmd: &clap::Command) -> String {
    let mut words = vec![];
    if cmd
        .get_arguments()
        .any(|a| !a.is_positional() && a.get_id() != "help" && a.get_id() != "version")
    {
        words.push("[OPTIONS]".to_string());
    }
    for a in cmd.get_positionals() {
        let name = a
            .get_value_names()
            .map_or(a.get_id().to_string().to_uppercase(), |v| v[0].to_string());
        let more = if matches!(a.get_num_args(), Some(r) if r.max_values() > 1) {
            "..."
        } else {
            ""
        };
        match a.is_required_set() {
            true => words.push(format!("{name}{more}")),
            false => words.push(format!("[{name}{more}]")),
        }
    }
    if cmd.has_subcommands() {
        words.push("[ACTION]".to_string());
    }
    roff(&words.join(" "))
}

fn verb_section(s: &mut String, cmd: &clap::Command, name: &str) {
    writeln!(s, ".SS \"{} {}\"", roff(name), usage_args(cmd)).unwrap();
    let about = cmd
        .get_long_about()
        .or(cmd.get_about())
        .map(|a| a.to_string())
        .unwrap_or_default();
    writeln!(s, "{}", roff(&about)).unwrap();
    for a in cmd.get_arguments() {
        if matches!(a.get_id().as_str(), "help" | "version") {
            continue;
        }
        let value = a.get_value_names().map(|v| v[0].to_string());
        let flag = match (a.get_long(), a.get_short()) {
            (Some(l), Some(c)) => format!("\\-{c}, \\-\\-{}", roff(l)),
            (Some(l), None) => format!("\\-\\-{}", roff(l)),
            (None, Some(c)) => format!("\\-{c}"),
            (None, None) => value
                .clone()
                .unwrap_or_else(|| a.get_id().to_string().to_uppercase()),
        };
        let value = match (a.is_positional(), a.get_action().takes_values(), value) {
            (false, true, Some(v)) => format!(" {v}"),
            (false, true, None) => format!(" {}", a.get_id().to_string().to_uppercase()),
            _ => String::new(),
        };
        let help = a
            .get_long_help()
            .or(a.get_help())
            .map(|h| h.to_string())
            .unwrap_or_default();
        let possible: Vec<String> = a
            .get_possible_values()
            .iter()
            .map(|p| p.get_name().to_string())
            .collect();
        let possible = match a.get_action().takes_values() && !possible.is_empty() {
            true => format!(" (one of: {})", possible.join(", ")),
            false => String::new(),
        };
        writeln!(
            s,
            ".TP\n.B {flag}{}\n{}{}",
            roff(&value),
            roff(&help),
            roff(&possible)
        )
        .unwrap();
    }
    for sub in cmd.get_subcommands() {
        verb_section(s, sub, &format!("{name} {}", sub.get_name()));
    }
}

#[test]
fn the_man_page_is_made_from_the_cli_and_the_readme() {
    let path = concat!(env!("CARGO_MANIFEST_DIR"), "/man/nixp.1");
    let made = page();
    if std::env::var_os("NIXP_WRITE_MAN").is_some() {
        std::fs::create_dir_all(std::path::Path::new(path).parent().unwrap()).unwrap();
        std::fs::write(path, &made).unwrap();
    }
    let committed = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        committed == made,
        "man/nixp.1 is stale: run scripts/man.sh (the CLI or the README's Environment, Files or Exit codes changed)"
    );
    // Every verb and every environment variable is in it.
    for verb in nixp::cli::VERBS {
        assert!(made.contains(&format!(".SS \"nixp {verb}")), "{verb}");
    }
    assert!(made.contains(".B NIXP_CONFIG"));
    assert!(made.contains(".SH EXIT STATUS"));
}

#[test]
fn man_reads_the_page() {
    // `man` itself, when it is here: the page renders without warnings.
    let Ok(out) = std::process::Command::new("man")
        .args([
            "--warnings",
            "-l",
            concat!(env!("CARGO_MANIFEST_DIR"), "/man/nixp.1"),
        ])
        .env("MANWIDTH", "80")
        .output()
    else {
        println!("skipped: no man here");
        return;
    };
    // Bold and underline as overstrikes (`X\bX`) read as plain text.
    let mut text = String::new();
    for c in String::from_utf8_lossy(&out.stdout).chars() {
        match c {
            '\u{8}' => {
                text.pop();
            }
            c => text.push(c),
        }
    }
    assert!(text.contains("ENVIRONMENT"), "{text}");
    assert!(text.contains("nixp layers add"), "{text}");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.trim().is_empty(), "{stderr}");
}
