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
    /// Whether what a run teaches is cached: not when the command line
    /// evaluates differently from a plain probe (`--override-input`,
    /// `--impure`, ...); the run itself still learns it.
    keep: bool,
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
    pub fn new(inner: Prober, keep: bool) -> Trial {
        Trial {
            inner,
            keep,
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
        let query = self.inner.query(&t.want);
        self.learnt
            .borrow_mut()
            .push((self.inner.key(&t.candidate), query, found.clone()));
        if self.keep {
            self.inner
                .learn(&t.candidate, &t.want, t.fingerprint.clone(), found);
        }
    }

    fn known(&self, c: &Candidate, want: &Want) -> Option<Probe> {
        let key = self.inner.key(c);
        let query = self.inner.query(want);
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
                // Only a local flake without `nixConfig` is tried: nix asks
                // about a flake's settings on a terminal, and its stderr is
                // not one while nixp reads it. Any other is probed.
                None if !triable(c) => {
                    return self.inner.probe(candidates, Some(want), until_found);
                }
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

/// Whether `c` may be tried: a local flake whose flake.nix sets no
/// `nixConfig`.
fn triable(c: &Candidate) -> bool {
    let Some(bindings) = c
        .local
        .as_deref()
        .and_then(crate::flake::local::top_bindings)
    else {
        return false;
    };
    !bindings.iter().any(|(path, _)| {
        path.first()
            .is_some_and(|p| p.as_deref() == Some("nixConfig"))
    })
}

/// How a tried command ended.
pub struct Tried {
    /// nix's exit code (128 + the signal that ended it).
    pub code: u8,
    /// nix's stderr from its first `error:` line on, held back.
    pub held: Vec<u8>,
    /// A signal sent to nixp (and passed on to nix) while it ran: the run
    /// is over, whatever nix answered.
    pub signal: Option<i32>,
}

impl Tried {
    /// The tentative holders nix's error says do not provide what was
    /// asked (`flake 'REF' does not provide attribute 'P1', 'P2' or 'P3'`,
    /// the paths exactly those nix tries for it), when it can tell which.
    pub fn lacking<'a>(&self, tried: &'a [Tentative], system: &str) -> Vec<&'a Tentative> {
        // nix's own error, alone: `error: flake 'F' does not provide
        // attribute LIST` and nothing else (a build log, a `throw`'s
        // message or a trace around it is some other failure).
        let text = super::message::strip_colour(&String::from_utf8_lossy(&self.held));
        let lines: Vec<&str> = text.lines().filter(|l| !l.trim().is_empty()).collect();
        let [line] = lines.as_slice() else {
            return vec![];
        };
        let Some((flake, paths)) = line
            .strip_prefix("error: flake '")
            .and_then(|rest| rest.split_once("' does not provide attribute "))
        else {
            return vec![];
        };
        tried
            .iter()
            .filter(|t| {
                paths.trim_end() == shown_paths(&t.want.attr_paths(system))
                    && names_flake(flake, &t.candidate)
            })
            .collect()
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

/// Whether `flake`, as nix's error names it, is `c`: its reference as
/// given, or its directory as nix names a local flake (`path:DIR`, or
/// `git+file://TOP?dir=SUB` inside a git checkout), compared resolved.
fn names_flake(flake: &str, c: &Candidate) -> bool {
    if flake == c.reference {
        return true;
    }
    let Some(dir) = c.local.as_ref().and_then(|d| std::fs::canonicalize(d).ok()) else {
        return false;
    };
    let same = |p: std::path::PathBuf| std::fs::canonicalize(p).is_ok_and(|p| p == dir);
    if let Some(p) = flake.strip_prefix("path:") {
        return same(p.split('?').next().unwrap_or(p).into());
    }
    let Some(rest) = flake.strip_prefix("git+file://") else {
        return false;
    };
    let (top, query) = rest.split_once('?').unwrap_or((rest, ""));
    let sub = query
        .split('&')
        .find_map(|kv| kv.strip_prefix("dir="))
        .map(crate::flake::reference::percent_decode)
        .unwrap_or_default();
    same(std::path::Path::new(top).join(sub))
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
        // Signals sent to nixp reach nix, as they would an exec'd nix.
        let signals = signal_hook::iterator::Signals::new([
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGHUP,
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGQUIT,
        ]);
        let received = std::sync::Arc::new(std::sync::atomic::AtomicI32::new(0));
        let forwarding = signals.ok().map(|mut signals| {
            let handle = signals.handle();
            let pid = i32::try_from(child.id())
                .ok()
                .and_then(rustix::process::Pid::from_raw);
            let received = received.clone();
            let thread = std::thread::spawn(move || {
                for sig in signals.forever() {
                    received.store(sig, std::sync::atomic::Ordering::SeqCst);
                    if let (Some(pid), Some(sig)) =
                        (pid, rustix::process::Signal::from_named_raw(sig))
                    {
                        let _ = rustix::process::kill_process(pid, sig);
                    }
                }
            });
            (handle, thread)
        });
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
        if let Some((handle, thread)) = forwarding {
            handle.close();
            let _ = thread.join();
        }
        let signal = match received.load(std::sync::atomic::Ordering::SeqCst) {
            0 => None,
            s => Some(s),
        };
        Ok(Tried { code, held, signal })
    }
}

fn is_error_line(line: &[u8]) -> bool {
    super::message::strip_colour(&String::from_utf8_lossy(line)).starts_with("error:")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::nix::search::Search;

    fn tentative(dir: &std::path::Path, fragment: &str) -> Tentative {
        Tentative {
            candidate: Candidate {
                reference: dir.display().to_string(),
                local: Some(dir.to_path_buf()),
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
    fn only_nix_s_own_error_about_the_holder_says_it_lacks_it() {
        let d = tempfile::tempdir().unwrap();
        let root = std::fs::canonicalize(d.path()).unwrap();
        for sub in ["a/foo", "repo/sub/bar"] {
            std::fs::create_dir_all(root.join(sub)).unwrap();
        }
        let tried = [
            tentative(&root.join("a/foo"), "x"),
            tentative(&root.join("repo/sub/bar"), "y"),
        ];
        let ran = |msg: String| Tried {
            code: 1,
            held: msg.into_bytes(),
            signal: None,
        };
        let lacking = |msg: String| -> Vec<String> {
            ran(msg)
                .lacking(&tried, "s")
                .iter()
                .map(|t| t.candidate.reference.clone())
                .collect()
        };
        let r = root.display();
        let x = "'packages.s.x', 'legacyPackages.s.x' or 'x'";
        let y = "'packages.s.y', 'legacyPackages.s.y' or 'y'";
        let a = root.join("a/foo").display().to_string();
        let bar = root.join("repo/sub/bar").display().to_string();
        // As nix names a path flake, through `..` too, and a flake in a
        // git checkout; coloured as on a terminal.
        assert_eq!(
            lacking(format!(
                "error: flake 'path:{r}/a/foo' does not provide attribute {x}\n"
            )),
            std::slice::from_ref(&a)
        );
        assert_eq!(
            lacking(format!(
                "error: flake 'path:{r}/repo/../a/foo' does not provide attribute {x}\n"
            )),
            std::slice::from_ref(&a)
        );
        assert_eq!(
            lacking(format!(
                "error: flake 'git+file://{r}/repo?dir=sub/bar' does not provide attribute {y}\n"
            )),
            [bar]
        );
        assert_eq!(
            lacking(format!(
                "\u{1b}[31;1merror:\u{1b}[0m flake '\u{1b}[35;1mpath:{r}/a/foo\u{1b}[0m' does not provide attribute \u{1b}[35;1m{x}\u{1b}[0m\n"
            )),
            [a]
        );
        // Another flake, other paths, more than nix's one line, or a
        // message that only reads like it: nothing learnt.
        assert!(
            lacking(format!(
                "error: flake 'path:{r}/elsewhere' does not provide attribute {x}\n"
            ))
            .is_empty()
        );
        assert!(
            lacking(format!(
                "error: flake 'path:{r}/a/foo' does not provide attribute {y}\n"
            ))
            .is_empty()
        );
        assert!(lacking(format!("error: flake 'path:{r}/a/foo' does not provide attribute {x}\n(use '--show-trace' to show detailed location information)\n")).is_empty());
        assert!(
            lacking(format!(
                "mimic> error: flake 'path:{r}/a/foo' does not provide attribute {x}\n"
            ))
            .is_empty()
        );
        assert!(
            lacking("error: builder for '/nix/store/x.drv' failed with exit code 3\n".into())
                .is_empty()
        );
    }

    #[test]
    fn nix_lists_attribute_paths_like_this() {
        let p = |v: &[&str]| shown_paths(&v.iter().map(|s| s.to_string()).collect::<Vec<_>>());
        assert_eq!(p(&["a"]), "'a'");
        assert_eq!(p(&["a", "b"]), "'a' or 'b'");
        assert_eq!(p(&["a", "b", "c"]), "'a', 'b' or 'c'");
    }
}
