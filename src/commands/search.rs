//! `nixp search --stack [--json] REGEX...`: one search across the stack.
//! nix's own `nix search` takes a flake first; this form names none (and
//! nix refuses `--stack`, so it shadows nothing nix accepts). Each
//! winning flake is searched by the real nix (`nix search --json`, its
//! private inputs overridden), concurrently, and the matches are printed
//! as nix prints them, each attribute path behind the id it comes from,
//! so the line is a reference nixp takes: `* blender#packages.x86_64-linux.eevee (4.2)`.

use crate::config::Config;
use crate::exit::{self, coded};
use crate::resolve::Stack;
use anyhow::Result;
use serde_json::{Map, Value, json};
use std::ffi::OsString;
use std::io::Write;

/// Whether `args` (without argv[0]) are this form: `search`, then
/// `--stack` among `--json` and the patterns.
pub(crate) fn is_stack_search(args: &[OsString]) -> bool {
    let Some((first, rest)) = args.split_first() else {
        return false;
    };
    let before_patterns = rest.iter().take_while(|a| *a != "--");
    first == "search" && before_patterns.clone().any(|a| a == "--stack")
}

pub(crate) fn run(args: &[OsString]) -> Result<u8> {
    let mut json = false;
    let mut patterns = vec![];
    let mut only_patterns = false;
    for a in args.iter().skip(1) {
        let Some(a) = a.to_str() else {
            return Err(coded(exit::USAGE, "a pattern is not valid UTF-8"));
        };
        match a {
            _ if only_patterns => patterns.push(a.to_string()),
            "--" => only_patterns = true,
            "--stack" => {}
            "--json" => json = true,
            "--help" | "-h" => {
                crate::message::text(USAGE);
                return Ok(exit::OK);
            }
            p if !p.starts_with('-') => patterns.push(p.to_string()),
            _ => {
                return Err(coded(
                    exit::USAGE,
                    format!("'nixp search --stack' takes --json and patterns, not '{a}'\n{USAGE}"),
                ));
            }
        }
    }
    if patterns.is_empty() {
        return Err(coded(
            exit::USAGE,
            format!(
                "'nixp search --stack' needs at least one pattern (a regular expression; '^' matches everything)\n{USAGE}"
            ),
        ));
    }
    let config = crate::config::load()?;
    search(&config, &patterns, json)
}

const USAGE: &str = "Usage: nixp search --stack [--json] [--] REGEX...
  Searches every winning flake of the stack with nix's search; each match
  is printed behind the id it comes from (`* ID#ATTRPATH (VERSION)`).
";

fn search(config: &Config, patterns: &[String], json: bool) -> Result<u8> {
    if config.layers.is_empty() {
        super::say_empty(config);
    }
    let stack = Stack::new(config);
    let index = stack.index();
    let winners = crate::catalog::winners(&stack, stack.listed(&index).collect());
    let nix = crate::nix::Nix::locate(&config.nix_settings())?;
    let mut code = exit::OK;
    let mut asked = vec![];
    for w in winners {
        match (w.candidate, w.reference) {
            (Some(Ok(c)), _) => asked.push((w.used_as, c)),
            (Some(Err(e)), _) | (None, Err(e)) => {
                crate::message::warning(format_args!("'{}' is not searched: {e}", w.used_as));
                code = exit::RESOLVE;
            }
            (None, Ok(_)) => {}
        }
    }
    let status = crate::progress::start(format!("searching {} flakes", asked.len()));
    let found = crate::threads::map_n(&asked, asked.len().clamp(1, 8), |(id, c)| {
        let mut call = nix
            .call()
            .args(["search", "--json", "--no-write-lock-file"]);
        for (from, to) in &c.overrides {
            call = call.args(["--override-flake", from, to]);
        }
        let out = call.arg(&c.reference).arg("--").args(patterns).output()?;
        // nix fails when a flake has no match: that is no error here.
        let text = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && text.contains("no results for the given search term") {
            return Ok(Map::new());
        }
        if !out.status.success() {
            return Err(crate::nix::message::cause(&out.stderr));
        }
        match serde_json::from_slice(&out.stdout) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!("{id}: nix printed what nixp cannot read")),
        }
    });
    drop(status);
    let mut results = Map::new();
    let mut failures: Vec<(String, String)> = vec![];
    for ((id, _), r) in asked.iter().zip(found) {
        match r {
            Ok(m) => {
                for (attr, mut v) in m {
                    v["id"] = json!(id);
                    results.insert(format!("{id}#{attr}"), v);
                }
            }
            Err(e) => failures.push((id.clone(), e)),
        }
    }
    // Every flake failing alike (a pattern nix cannot read): one error.
    if failures.len() > 1
        && failures.len() == asked.len()
        && failures.iter().all(|f| f.1 == failures[0].1)
    {
        crate::message::error(&failures[0].1);
        return Ok(exit::RESOLVE);
    }
    for (id, e) in &failures {
        crate::message::warning(format_args!("cannot search '{id}': {e}"));
        code = exit::RESOLVE;
    }
    let mut out = std::io::stdout().lock();
    if json {
        writeln!(out, "{}", Value::Object(results))?;
        return Ok(code);
    }
    if results.is_empty() {
        crate::message::error("no results for the given search term(s)!");
        return Ok(exit::RESOLVE);
    }
    let mut first = true;
    for (reference, v) in &results {
        if !first {
            writeln!(out)?;
        }
        first = false;
        let version = v["version"].as_str().filter(|s| !s.is_empty());
        match version {
            Some(ver) => writeln!(out, "* {reference} ({ver})")?,
            None => writeln!(out, "* {reference}")?,
        }
        if let Some(d) = v["description"].as_str().filter(|s| !s.is_empty()) {
            writeln!(out, "  {d}")?;
        }
    }
    Ok(code)
}
