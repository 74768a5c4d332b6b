//! `nixp search --stack [--json] REGEX...`: one search across the stack.
//! nix's own `nix search` takes a flake first; this form names none (and
//! nix refuses `--stack`, so it shadows nothing nix accepts). Each
//! winning flake is searched by the real nix (`nix search --json`, its
//! private inputs overridden), concurrently, and the matches are printed
//! as nix prints them, each attribute path behind the id it comes from,
//! so the line is a reference nixp takes: `* blender#packages.x86_64-linux.eevee (4.2)`.

use crate::config::Config;
use crate::exit::{self, coded};
use crate::resolve::{Listed, Stack};
use anyhow::Result;
use serde_json::{Map, Value, json};
use std::ffi::OsString;
use std::io::Write;

/// Whether `args` (without argv[0]) are this form: `search --stack ...`.
pub(crate) fn is_stack_search(args: &[OsString]) -> bool {
    args.first().is_some_and(|a| a == "search") && args.get(1).is_some_and(|a| a == "--stack")
}

pub(crate) fn run(args: &[OsString]) -> Result<u8> {
    let mut json = false;
    let mut patterns = vec![];
    for a in args.iter().skip(2) {
        match a.to_str() {
            Some("--json") => json = true,
            Some(p) if !p.starts_with('-') || p == "-" => patterns.push(p.to_string()),
            _ => {
                return Err(coded(
                    exit::USAGE,
                    format!(
                        "'nixp search --stack' takes --json and patterns (regular expressions), not '{}'",
                        a.to_string_lossy()
                    ),
                ));
            }
        }
    }
    if patterns.is_empty() {
        return Err(coded(
            exit::USAGE,
            "'nixp search --stack' needs at least one pattern (a regular expression; '^' matches everything)",
        ));
    }
    let config = crate::config::load()?;
    search(&config, &patterns, json)
}

fn search(config: &Config, patterns: &[String], json: bool) -> Result<u8> {
    let stack = Stack::new(config);
    let index = stack.index();
    let listed: Vec<Listed> = stack.listed(&index).collect();
    let nix = crate::nix::Nix::locate(&config.nix_settings())?;
    // (id as used, reference, overrides) of each winner that can be asked.
    let mut code = exit::OK;
    let mut asked = vec![];
    for (l, c) in listed.iter().zip(stack.candidates_of(&listed)) {
        match c {
            Some(Ok(c)) => asked.push((l.id.to_string(), c)),
            Some(Err(e)) => {
                crate::message::warning(format_args!("'{}' is not searched: {e}", l.id));
                code = exit::RESOLVE;
            }
            None => {}
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
        let out = call.arg(&c.reference).args(patterns).output()?;
        // nix fails when a flake has no match: that is no error here.
        let text = String::from_utf8_lossy(&out.stderr);
        if !out.status.success() && text.contains("no results for the given search term") {
            return Ok(Map::new());
        }
        if !out.status.success() {
            return Err(format!("{id}: {}", crate::nix::message::cause(&out.stderr)));
        }
        match serde_json::from_slice(&out.stdout) {
            Ok(Value::Object(m)) => Ok(m),
            _ => Err(format!("{id}: nix printed what nixp cannot read")),
        }
    });
    drop(status);
    let mut results = Map::new();
    for ((id, _), r) in asked.iter().zip(found) {
        match r {
            Ok(m) => {
                for (attr, mut v) in m {
                    v["id"] = json!(id);
                    results.insert(format!("{id}#{attr}"), v);
                }
            }
            Err(e) => {
                crate::message::warning(format_args!("cannot search {e}"));
                code = exit::RESOLVE;
            }
        }
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
