//! Every nix process nixp starts: the one exec of the user's command line,
//! and the calls nixp makes for its own purposes (the schema dump, settings,
//! fetching remote layers, probing outputs, generating a layer's flake).
//!
//! The real nix is found once per run ([`Nix::locate`], or lazily through
//! [`Lazy`]) and every internal call is built by [`Call`], which adds the
//! experimental features nixp relies on and closes stdin. Nothing else in
//! nixp names `std::process::Command` for nix.

mod locate;
pub mod probe;
pub(crate) mod profile;
pub(crate) mod registries;
pub mod schema;
pub mod search;
pub(crate) mod settings;

pub use locate::MAX_DEPTH;

use crate::exit::{self, coded};
use anyhow::Result;
use schema::Schema;
use std::ffi::{OsStr, OsString};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;

/// The real nix of this run: where it is, how deeply nixp is nested in
/// itself, and (read on first use, cached per nix binary) its command-line
/// schema and `system` setting.
pub struct Nix {
    path: PathBuf,
    depth: u32,
    /// nixp's cache directory, for the schema.
    cache: Option<PathBuf>,
    schema: OnceLock<Schema>,
}

impl Nix {
    /// Finds the real nix (`NIXP_NIX`, else PATH) and checks the nesting
    /// depth; `cache` is nixp's cache directory.
    pub fn locate(cache: Option<&Path>) -> Result<Nix> {
        let path = locate::locate()?;
        let depth = locate::check_depth(&path)?;
        Ok(Nix::at(path, depth, cache))
    }

    /// The nix at `path`, without looking for it.
    pub fn at(path: PathBuf, depth: u32, cache: Option<&Path>) -> Nix {
        Nix {
            path,
            depth,
            cache: cache.map(Path::to_path_buf),
            schema: OnceLock::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// nix's command-line schema: from nixp's cache, else dumped by nix.
    pub fn schema(&self) -> &Schema {
        self.schema
            .get_or_init(|| Schema::load(&self.path, self.cache.as_deref()))
    }

    /// The platform nix evaluates for (its `system` setting).
    pub fn system(&self) -> String {
        self.schema().system()
    }

    /// A call of nix for nixp's own purposes.
    pub fn call(&self) -> Call {
        Call::new(&self.path)
    }

    /// A call of nix with the words as the user typed them, and no flag
    /// of nixp's before them (completion counts words).
    pub fn call_as_typed(&self) -> Call {
        Call::bare(&self.path)
    }

    /// Replaces this process with nix running `args` (argv[0] `nix`).
    /// Returns only on failure.
    pub fn exec(&self, args: &[OsString]) -> anyhow::Error {
        let err = Command::new(&self.path)
            .arg0("nix")
            .args(args)
            .env(locate::DEPTH_VAR, (self.depth + 1).to_string())
            .exec();
        coded(
            exit::NIX_NOT_RUNNABLE,
            format!("cannot run nix '{}': {err}", self.path.display()),
        )
    }
}

/// nix, found on first use and then shared (layers, the stack and the
/// probes of one run ask the same one). Finding it may fail; the failure
/// is kept and reported by each user.
pub struct Lazy {
    cache: Option<PathBuf>,
    cell: OnceLock<std::result::Result<Nix, String>>,
}

impl Lazy {
    pub fn new(cache: Option<&Path>) -> Lazy {
        Lazy {
            cache: cache.map(Path::to_path_buf),
            cell: OnceLock::new(),
        }
    }

    /// The nix already found.
    pub fn found(nix: Nix) -> Lazy {
        Lazy {
            cache: nix.cache.clone(),
            cell: OnceLock::from(Ok(nix)),
        }
    }

    /// The real nix, found now if it was not yet.
    pub fn get(&self) -> std::result::Result<&Nix, String> {
        self.cell
            .get_or_init(|| {
                let nix = Nix::locate(self.cache.as_deref()).map_err(|e| format!("{e:#}"))?;
                if !nix.path.is_file() {
                    return Err(format!(
                        "cannot run nix '{}': it does not exist",
                        nix.path.display()
                    ));
                }
                Ok(nix)
            })
            .as_ref()
            .map_err(Clone::clone)
    }
}

/// One nix command for nixp's own purposes: `nix --extra-experimental-features
/// 'nix-command flakes' ARGS`, stdin closed, output captured.
pub struct Call {
    cmd: Command,
}

impl Call {
    fn new(nix: &Path) -> Call {
        let mut call = Call::bare(nix);
        call.cmd
            .args(["--extra-experimental-features", "nix-command flakes"]);
        call
    }

    /// Without the features flag: nix reads `__dump-cli` only as its sole
    /// argument.
    fn bare(nix: &Path) -> Call {
        let mut cmd = Command::new(nix);
        cmd.stdin(Stdio::null());
        Call { cmd }
    }

    pub fn arg(mut self, a: impl AsRef<OsStr>) -> Call {
        self.cmd.arg(a);
        self
    }

    pub fn args<S: AsRef<OsStr>>(mut self, args: impl IntoIterator<Item = S>) -> Call {
        self.cmd.args(args);
        self
    }

    pub fn env(mut self, k: &str, v: impl AsRef<OsStr>) -> Call {
        self.cmd.env(k, v);
        self
    }

    /// Runs nix and collects what it printed; an error when it cannot be
    /// started.
    pub fn output(mut self) -> std::result::Result<Output, String> {
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        self.cmd
            .output()
            .map_err(|e| format!("cannot run nix '{program}': {e}"))
    }

    /// Runs nix; its stdout when it succeeds, else what it printed.
    pub fn stdout(self) -> std::result::Result<Vec<u8>, Failure> {
        let out = self.output().map_err(|message| Failure {
            message,
            stderr: String::new(),
        })?;
        if !out.status.success() {
            return Err(Failure {
                message: error_line(&out.stderr),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs nix and reads what it prints as JSON; `None` when nix fails.
    pub fn json(mut self) -> Option<serde_json::Value> {
        self.cmd.stderr(Stdio::null());
        let out = self.output().ok()?;
        out.status.success().then_some(())?;
        serde_json::from_slice(&out.stdout).ok()
    }
}

/// A nix call that failed: the cause nix gave, and all it printed.
#[derive(Debug)]
pub struct Failure {
    pub message: String,
    pub stderr: String,
}

impl From<Failure> for String {
    fn from(f: Failure) -> String {
        f.message
    }
}

/// `nix ARG` alone, as JSON (the schema dumps).
pub fn dump(nix: &Path, arg: &str) -> Option<serde_json::Value> {
    Call::bare(nix).arg(arg).json()
}

/// nix's settings, as `nix config show --json` prints them (`nix
/// show-config --json` before 2.20).
pub fn settings(nix: &Path) -> Option<serde_json::Value> {
    let ask = |words: &[&str]| Call::new(nix).args(words).json();
    ask(&["config", "show", "--json"]).or_else(|| ask(&["show-config", "--json"]))
}

/// The line of nix's stderr that says what went wrong (its first `error:`
/// line, without the prefix), else its last line.
pub fn error_line(stderr: &[u8]) -> String {
    let text = String::from_utf8_lossy(stderr);
    text.lines()
        .find(|l| l.trim_start().starts_with("error:"))
        .or_else(|| text.lines().rev().find(|l| !l.trim().is_empty()))
        .unwrap_or("nix failed")
        .trim()
        .trim_start_matches("error: ")
        .to_string()
}
