//! The command as its own probe. When the output-aware choice meets a
//! holder whose answer is not known yet, probing it and then running the
//! command would have nix evaluate it twice (nix's eval cache does not
//! serve `nix eval`, and a probe's flake is not the command's). For
//! commands whose stderr is nix's alone (`eval`, `build`, `profile
//! install`, ...), nixp instead runs the command with that holder: when it
//! provides what is asked, its one evaluation was the command's; when nix
//! answers that it does not provide the attribute, nixp learns that
//! (cached like a probe's answer), takes nix's error back and tries the
//! next holder. Each holder is evaluated at most once, in layer order,
//! stopping at the first that provides (see the README's measurements for
//! why in order beats concurrent here).

use super::Nix;
use super::probe::{Candidate, Probe, Prober, Provides};
use super::search::Want;
use std::cell::RefCell;
use std::ffi::OsString;
use std::io::{BufRead, BufReader, Write};
use std::process::Stdio;

/// A holder the command line was planned with before its answer was known.
#[derive(Clone, Debug)]
pub struct Tentative {
    candidate: Candidate,
    want: Want,
    /// Its content's fingerprint, taken before nix ran.
    fingerprint: String,
}

/// [`Provides`] for a command that may be its own probe: known answers as
/// the prober has them; the first holder not known is taken as providing,
/// and remembered, to be tried.
pub struct Trial {
    inner: Prober,
    /// Holders taken on trust since the last `take`.
    pending: RefCell<Vec<Tentative>>,
    /// What running the command taught in this run: (key, query, found);
    /// kept here too, in case the cache cannot be written.
    learnt: RefCell<Vec<(String, String, Option<String>)>>,
}

impl Tentative {
    /// For the status line: `/srv/a/foo for 'MAIN_PKG'`.
    pub fn describe(&self) -> String {
        format!("{} for {}", self.candidate.reference, self.want.shown())
    }
}

impl Trial {
    pub fn new(inner: Prober) -> Trial {
        Trial {
            inner,
            pending: Default::default(),
            learnt: Default::default(),
        }
    }

    /// The holders taken on trust since last asked.
    pub fn take(&self) -> Vec<Tentative> {
        std::mem::take(&mut self.pending.borrow_mut())
    }

    /// Records what the command's run said about `t` (`provides`: whether
    /// nix found what was asked in it).
    pub fn learn(&self, t: &Tentative, provides: bool) {
        let found = provides.then(|| t.want.shown());
        let query = t.want.attr_paths(self.inner.system()).join("\n");
        self.learnt
            .borrow_mut()
            .push((self.inner.key(&t.candidate), query, found.clone()));
        self.inner
            .learn(&t.candidate, &t.want, t.fingerprint.clone(), found);
    }

    fn known(&self, c: &Candidate, want: &Want) -> Option<Probe> {
        let key = self.inner.key(c);
        let query = want.attr_paths(self.inner.system()).join("\n");
        let learnt = self.learnt.borrow();
        let found = learnt
            .iter()
            .rev()
            .find(|(k, q, _)| *k == key && *q == query)
            .map(|(_, _, f)| f.clone());
        match found {
            Some(found) => Some(Probe {
                found,
                unlisted: true,
                ..Probe::default()
            }),
            None => self.inner.cached_answer(c, want),
        }
    }
}

impl Provides for Trial {
    fn system(&self) -> &str {
        self.inner.system()
    }

    fn probe(
        &self,
        candidates: &[Option<Candidate>],
        want: Option<&Want>,
        until_found: bool,
    ) -> Vec<Option<Result<Probe, String>>> {
        let Some(want) = want.filter(|_| until_found) else {
            return self.inner.probe(candidates, want, until_found);
        };
        let mut out = vec![None; candidates.len()];
        for (i, c) in candidates.iter().enumerate() {
            let Some(c) = c else { continue };
            let probe = match self.known(c, want) {
                Some(p) => p,
                None => {
                    self.pending.borrow_mut().push(Tentative {
                        candidate: c.clone(),
                        want: want.clone(),
                        fingerprint: self.inner.fingerprint(c),
                    });
                    Probe {
                        found: Some(want.shown()),
                        unlisted: true,
                        ..Probe::default()
                    }
                }
            };
            let stop = probe.found.is_some();
            out[i] = Some(Ok(probe));
            if stop {
                break;
            }
        }
        out
    }
}

/// How a tried command ended.
pub struct Tried {
    /// nix's exit code (128 + the signal that ended it).
    pub code: u8,
    /// nix's stderr from its first `error:` line on, held back.
    pub held: Vec<u8>,
}

impl Tried {
    /// The tentative holders nix's error says do not provide what was
    /// asked (`flake 'REF' does not provide attribute 'P1', 'P2' or 'P3'`,
    /// the paths exactly those nix tries for it), when it can tell which.
    pub fn lacking<'a>(&self, tried: &'a [Tentative], system: &str) -> Vec<&'a Tentative> {
        let text = super::message::strip_colour(&String::from_utf8_lossy(&self.held));
        let Some(line) = text
            .lines()
            .find(|l| l.contains("does not provide attribute"))
        else {
            return vec![];
        };
        let matching: Vec<&Tentative> = tried
            .iter()
            .filter(|t| line.ends_with(&shown_paths(&t.want.attr_paths(system))))
            .collect();
        if matching.len() <= 1 {
            return matching;
        }
        // The same attribute asked of several: by the flake nix names.
        let named: Vec<&Tentative> = matching
            .into_iter()
            .filter(|t| names_flake(line, &t.candidate.reference))
            .collect();
        match named.len() {
            1 => named,
            _ => vec![],
        }
    }
}

/// nix's list of attribute paths: `'a'`, `'a' or 'b'`, `'a', 'b' or 'c'`.
fn shown_paths(paths: &[String]) -> String {
    let quoted: Vec<String> = paths.iter().map(|p| format!("'{p}'")).collect();
    match quoted.split_last() {
        None => String::new(),
        Some((last, [])) => last.clone(),
        Some((last, rest)) => format!("{} or {last}", rest.join(", ")),
    }
}

/// Whether nix's message names the flake nixp gave as `reference`
/// (nix prints a path as `path:PATH`).
fn names_flake(line: &str, reference: &str) -> bool {
    let bare = reference.strip_prefix("path:").unwrap_or(reference);
    line.contains(&format!("flake '{reference}'")) || line.contains(&format!("flake 'path:{bare}'"))
}

impl Nix {
    /// Runs the command line `args` as a child, its stdin and stdout the
    /// user's; stderr passes through line by line until nix's first
    /// `error:` line, which and everything after it is held back for the
    /// caller to print or drop.
    pub fn try_run(&self, args: &[OsString], doing: &str) -> anyhow::Result<Tried> {
        let _status = crate::progress::start(doing);
        let mut child = self
            .command(args)
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| self.not_runnable(e))?;
        let mut held = vec![];
        if let Some(stderr) = child.stderr.take() {
            let mut reader = BufReader::new(stderr);
            let mut line = vec![];
            let mut err = std::io::stderr();
            // A read error ends the copy; nix's exit status still says how
            // it went.
            while reader.read_until(b'\n', &mut line).is_ok_and(|n| n > 0) {
                if held.is_empty() && !is_error_line(&line) {
                    // The user's stderr gone: nix's own run goes on.
                    crate::progress::above(|| {
                        let _ = err.write_all(&line);
                    });
                } else {
                    held.extend_from_slice(&line);
                }
                line.clear();
            }
        }
        let code = super::exit_code(child.wait()?);
        Ok(Tried { code, held })
    }
}

fn is_error_line(line: &[u8]) -> bool {
    super::message::strip_colour(&String::from_utf8_lossy(line)).starts_with("error:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nix::search::Search;

    fn tentative(reference: &str, fragment: &str) -> Tentative {
        Tentative {
            candidate: Candidate {
                reference: reference.into(),
                local: None,
                locked: false,
                overrides: vec![],
            },
            want: Want {
                search: Search::Packages,
                fragment: fragment.into(),
            },
            fingerprint: String::new(),
        }
    }

    #[test]
    fn nix_s_error_names_the_holder_that_lacks_it() {
        let tried = [
            tentative("/l/a/foo", "x"),
            tentative("/l/a/bar", "y"),
            tentative("/l/b/baz", "y"),
        ];
        let ran = |msg: &str| Tried {
            code: 1,
            held: msg.as_bytes().to_vec(),
        };
        let refs = |v: Vec<&Tentative>| -> Vec<String> {
            v.iter().map(|t| t.candidate.reference.clone()).collect()
        };
        let x = "error: flake 'path:/l/a/foo' does not provide attribute 'packages.s.x', 'legacyPackages.s.x' or 'x'\n";
        assert_eq!(refs(ran(x).lacking(&tried, "s")), ["/l/a/foo"]);
        // Coloured as on a terminal.
        let coloured = "\u{1b}[31;1merror:\u{1b}[0m flake '\u{1b}[35;1mpath:/l/a/foo\u{1b}[0m' does not provide attribute \u{1b}[35;1m'packages.s.x', 'legacyPackages.s.x' or 'x'\u{1b}[0m\n";
        assert_eq!(refs(ran(coloured).lacking(&tried, "s")), ["/l/a/foo"]);
        // Two asked for `y`: the flake nix names decides.
        let y = "error: flake 'path:/l/b/baz' does not provide attribute 'packages.s.y', 'legacyPackages.s.y' or 'y'\n";
        assert_eq!(refs(ran(y).lacking(&tried, "s")), ["/l/b/baz"]);
        let other = "error: flake 'path:/elsewhere' does not provide attribute 'packages.s.y', 'legacyPackages.s.y' or 'y'\n";
        assert!(ran(other).lacking(&tried, "s").is_empty());
        // Any other failure teaches nothing.
        let build = "error: builder for '/nix/store/x.drv' failed with exit code 3\n";
        assert!(ran(build).lacking(&tried, "s").is_empty());
        let z = "error: flake 'path:/l/a/foo' does not provide attribute 'packages.s.z', 'legacyPackages.s.z' or 'z'\n";
        assert!(ran(z).lacking(&tried, "s").is_empty());
    }

    #[test]
    fn nix_lists_attribute_paths_like_this() {
        let p = |v: &[&str]| shown_paths(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["a"]), "'a'");
        assert_eq!(p(&["a", "b"]), "'a' or 'b'");
        assert_eq!(p(&["a", "b", "c"]), "'a', 'b' or 'c'");
    }
}
