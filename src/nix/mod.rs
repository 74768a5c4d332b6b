//! Every nix process nixp starts: the one exec of the user's command line,
//! and the calls nixp makes for its own purposes (the schema dump, settings,
//! fetching remote layers, probing outputs, generating a layer's flake).
//!
//! The real nix is found once per run ([`Nix::locate`], or lazily through
//! [`Lazy`]) and every internal call is built by [`Call`], which adds the
//! experimental features nixp relies on, closes stdin, bounds the wait
//! (`timeout`, [`Settings`]), and runs a call again when it failed only in
//! nix's own first-run setup (concurrent first calls on a fresh store race
//! for its database and directories). Nothing else in nixp names
//! `std::process::Command` for nix.

mod locate;
pub(crate) mod message;
pub mod probe;
pub(crate) mod profile;
pub(crate) mod registries;
pub mod schema;
pub mod search;
pub(crate) mod settings;
pub(crate) mod source;
pub mod trial;

use crate::exit::{self, coded};
use anyhow::Result;
use schema::Schema;
use std::ffi::{OsStr, OsString};
use std::io::Read;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::sync::OnceLock;
use std::time::{Duration, Instant};

/// How long nixp waits for one of its own nix calls, unless told.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);

/// What every nix call of one run shares: nixp's cache directory (for
/// the schema) and how long a call may take.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    pub cache: Option<PathBuf>,
    pub timeout: Duration,
}

impl Settings {
    /// `timeout`, else the default.
    pub fn new(cache: Option<PathBuf>, timeout: Option<Duration>) -> Settings {
        Settings {
            cache,
            timeout: timeout.unwrap_or(DEFAULT_TIMEOUT),
        }
    }
}

/// `NIXP_TIMEOUT`: `None` when unset or empty, an error naming the value
/// when it is not a positive number of seconds. The configuration checks
/// it; a run without one takes it when it is good.
pub fn timeout_from_env() -> Result<Option<Duration>, String> {
    let Some(v) = std::env::var_os("NIXP_TIMEOUT").filter(|v| !v.is_empty()) else {
        return Ok(None);
    };
    let v = v.to_string_lossy();
    match v.trim().parse().ok().and_then(timeout_of) {
        Some(t) => Ok(Some(t)),
        None => Err(format!(
            "NIXP_TIMEOUT must be a positive number of seconds, not '{v}'"
        )),
    }
}

/// The longest timeout nixp keeps (a longer one is as good as none).
const MAX_TIMEOUT: Duration = Duration::from_secs(365 * 86_400);

/// A timeout of `secs` seconds: `None` unless positive; at most a year.
pub fn timeout_of(secs: f64) -> Option<Duration> {
    // Not positive, or not a number.
    if secs.partial_cmp(&0.0) != Some(std::cmp::Ordering::Greater) {
        return None;
    }
    Some(Duration::try_from_secs_f64(secs).map_or(MAX_TIMEOUT, |d| d.min(MAX_TIMEOUT)))
}

/// The real nix of this run: where it is, how deeply nixp is nested in
/// itself, and (read on first use, cached per nix binary) its command-line
/// schema and `system` setting.
#[derive(Clone)]
pub struct Nix {
    path: PathBuf,
    depth: u32,
    settings: Settings,
    schema: OnceLock<Schema>,
}

impl Nix {
    /// Finds the real nix (`NIXP_NIX`, else PATH) and checks the nesting
    /// depth.
    pub fn locate(settings: &Settings) -> Result<Nix> {
        let path = locate::locate()?;
        let depth = locate::check_depth(&path)?;
        Ok(Nix {
            depth,
            ..Nix::at(path, settings)
        })
    }

    /// The nix at `path`, as given.
    pub fn at(path: PathBuf, settings: &Settings) -> Nix {
        Nix {
            path,
            depth: 0,
            settings: settings.clone(),
            schema: OnceLock::new(),
        }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The same nix, its calls made with `settings` from now on.
    pub fn with_settings(mut self, settings: &Settings) -> Nix {
        self.settings = settings.clone();
        self
    }

    /// nix's command-line schema: from nixp's cache, else dumped by nix.
    pub fn schema(&self) -> &Schema {
        self.schema
            .get_or_init(|| Schema::load(self, self.settings.cache.as_deref()))
    }

    /// The platform nix evaluates for (its `system` setting).
    pub fn system(&self) -> String {
        self.schema().system()
    }

    /// A call of nix for nixp's own purposes.
    pub fn call(&self) -> Call {
        let mut call = self.call_as_typed();
        call.cmd
            .args(["--extra-experimental-features", "nix-command flakes"]);
        call
    }

    /// A call of nix with the words as the user typed them, and no flag
    /// of nixp's before them (completion counts words; nix reads
    /// `__dump-cli` only as its sole argument).
    pub fn call_as_typed(&self) -> Call {
        let mut cmd = Command::new(&self.path);
        // nixp's own calls must run, not answer a completion request of
        // the user's (completion sets it again for the call that should);
        // and count as one level deeper, so that a `nix` that runs nixp
        // again ends at `MAX_DEPTH` here too.
        cmd.stdin(Stdio::null())
            .env_remove("NIX_GET_COMPLETIONS")
            .env(locate::DEPTH_VAR, (self.depth + 1).to_string());
        Call {
            cmd,
            timeout: self.settings.timeout,
            doing: None,
        }
    }

    /// Replaces this process with nix running `args` (argv[0] `nix`).
    /// Returns only on failure.
    pub fn exec(&self, args: &[OsString]) -> anyhow::Error {
        let err = self.command(args).exec();
        self.not_runnable(err)
    }

    /// Runs nix with `args` as a child with the user's stdin, stdout and
    /// stderr, and returns its exit code (128 + the signal that ended it).
    pub fn status(&self, args: &[OsString]) -> Result<u8> {
        let status = self
            .command(args)
            .status()
            .map_err(|e| self.not_runnable(e))?;
        Ok(exit_code(status))
    }

    /// nix running `args` for the user (argv[0] `nix`, one level deeper).
    fn command(&self, args: &[OsString]) -> Command {
        let mut cmd = Command::new(&self.path);
        cmd.arg0("nix")
            .args(args)
            .env(locate::DEPTH_VAR, (self.depth + 1).to_string());
        cmd
    }

    fn not_runnable(&self, err: std::io::Error) -> anyhow::Error {
        coded(
            exit::NIX_NOT_RUNNABLE,
            format!("cannot run nix '{}': {err}", self.path.display()),
        )
    }
}

/// The exit code a child's status stands for (128 + the signal that ended
/// it, as a shell says).
fn exit_code(status: std::process::ExitStatus) -> u8 {
    use std::os::unix::process::ExitStatusExt;
    match (status.code(), status.signal()) {
        (Some(c), _) => u8::try_from(c).unwrap_or(1),
        (None, Some(s)) => u8::try_from(128 + s).unwrap_or(1),
        (None, None) => 1,
    }
}

/// nix, found on first use and then shared (layers, the stack and the
/// probes of one run ask the same one). Finding it may fail; the failure
/// is kept and reported by each user.
pub struct Lazy {
    settings: Settings,
    cell: OnceLock<std::result::Result<Nix, String>>,
}

impl Lazy {
    pub fn new(settings: &Settings) -> Lazy {
        Lazy {
            settings: settings.clone(),
            cell: OnceLock::new(),
        }
    }

    /// The nix already found.
    pub fn found(nix: Nix) -> Lazy {
        Lazy {
            settings: nix.settings.clone(),
            cell: OnceLock::from(Ok(nix)),
        }
    }

    /// The real nix, found now if it was not yet.
    pub fn get(&self) -> std::result::Result<&Nix, String> {
        self.cell
            .get_or_init(|| {
                let nix = Nix::locate(&self.settings).map_err(|e| format!("{e:#}"))?;
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

/// Kills `child` and every process it started (found through /proc, where
/// there is one), then reaps it. Each one found is stopped first, so that
/// none can start another unseen.
fn kill_with_descendants(child: &mut std::process::Child) {
    use rustix::process::{Pid, Signal, kill_process};
    let signal = |pid: u32, s: Signal| {
        if let Some(pid) = Pid::from_raw(pid as i32) {
            let _ = kill_process(pid, s);
        }
    };
    let root = child.id();
    signal(root, Signal::STOP);
    let mut family = vec![root];
    // Each pass finds the children of those found so far.
    for _ in 0..64 {
        let before = family.len();
        for e in std::fs::read_dir("/proc").into_iter().flatten().flatten() {
            let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
                continue;
            };
            let stat = std::fs::read_to_string(e.path().join("stat")).unwrap_or_default();
            // `pid (comm) state ppid ...`; the command may hold spaces.
            let ppid = stat
                .rsplit_once(')')
                .and_then(|(_, rest)| rest.split_whitespace().nth(1))
                .and_then(|p| p.parse::<u32>().ok());
            if ppid.is_some_and(|p| family.contains(&p)) && !family.contains(&pid) {
                signal(pid, Signal::STOP);
                family.push(pid);
            }
        }
        if family.len() == before {
            break;
        }
    }
    let _ = child.kill();
    for pid in family.iter().skip(1) {
        signal(*pid, Signal::KILL);
    }
    let _ = child.wait();
}

/// Whether `child` ends by `deadline`: waited for in a thread that does
/// not reap it (that is left to the caller), so that nixp goes on the
/// moment it ends.
fn exited_by(child: &std::process::Child, deadline: Instant) -> bool {
    use rustix::process::{Pid, WaitId, WaitIdOptions, waitid};
    let Some(pid) = Pid::from_raw(child.id() as i32) else {
        return true;
    };
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let options = WaitIdOptions::EXITED | WaitIdOptions::NOWAIT;
        while let Err(rustix::io::Errno::INTR) = waitid(WaitId::Pid(pid), options) {}
        let _ = tx.send(());
    });
    !matches!(
        rx.recv_timeout(deadline.saturating_duration_since(Instant::now())),
        Err(std::sync::mpsc::RecvTimeoutError::Timeout)
    )
}

/// One nix command for nixp's own purposes: `nix --extra-experimental-features
/// 'nix-command flakes' ARGS`, stdin closed, output captured, bounded in
/// time.
pub struct Call {
    cmd: Command,
    timeout: Duration,
    /// What the call does, for the status line (`progress`).
    doing: Option<String>,
}

/// How often a call that failed in nix's first-run setup is tried again.
const SETUP_RETRIES: u32 = 5;

/// Whether nix failed only in its own setup, racing a concurrent nix on a
/// fresh store: its database busy, or a state directory or link made by
/// the other one in between.
fn setup_race(stderr: &str) -> bool {
    stderr.contains("is busy")
        || stderr.contains("database is locked")
        || (stderr.contains("File exists")
            && stderr.contains("/var/nix/")
            && (stderr.contains("creating symlink") || stderr.contains("creating directory")))
}

impl Call {
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

    /// Says what the call does, on the status line while it runs
    /// (`evaluating ...`, `fetching ...`).
    pub fn doing(mut self, what: impl Into<String>) -> Call {
        self.doing = Some(what.into());
        self
    }

    /// Runs nix and collects what it printed; an error when it cannot be
    /// started or does not finish in time. A failure in nix's first-run
    /// setup is tried again, a few times.
    pub fn output(mut self) -> std::result::Result<Output, String> {
        let _status = self.doing.take().map(crate::progress::start);
        let mut attempt = 0;
        loop {
            let out = self.run_once()?;
            if out.status.success()
                || attempt >= SETUP_RETRIES
                || !setup_race(&String::from_utf8_lossy(&out.stderr))
            {
                return Ok(out);
            }
            std::thread::sleep(Duration::from_millis(50 << attempt));
            attempt += 1;
        }
    }

    /// One run, killed when it outlasts the timeout.
    fn run_once(&mut self) -> std::result::Result<Output, String> {
        let program = self.cmd.get_program().to_string_lossy().into_owned();
        let mut child = self
            .cmd
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .map_err(|e| format!("cannot run nix '{program}': {e}"))?;
        // Read both pipes while waiting, so a chatty nix never blocks.
        let drain = |pipe: Option<Box<dyn Read + Send>>| {
            std::thread::spawn(move || {
                let mut buf = vec![];
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut buf);
                }
                buf
            })
        };
        let stdout = drain(
            child
                .stdout
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let stderr = drain(
            child
                .stderr
                .take()
                .map(|p| Box::new(p) as Box<dyn Read + Send>),
        );
        let start = Instant::now();
        let deadline = start
            .checked_add(self.timeout)
            .unwrap_or(start + MAX_TIMEOUT);
        let status = match exited_by(&child, deadline) {
            true => child.wait(),
            false => {
                // nix, and what it started (git, ssh): none outlives nixp.
                kill_with_descendants(&mut child);
                // The pipes' readers are left: a process nix started
                // may hold them open a while longer.
                // The words asked for, without nixp's feature flag.
                let flagged = self.cmd.get_args().next()
                    == Some(std::ffi::OsStr::new("--extra-experimental-features"));
                let args: Vec<String> = self
                    .cmd
                    .get_args()
                    .skip(if flagged { 2 } else { 0 })
                    .map(|a| {
                        // nixp's own expressions (`--apply`) are long:
                        // their first line stands for them.
                        let a = a.to_string_lossy();
                        match a.split_once('\n') {
                            Some((first, _)) => format!("{first} …"),
                            None => a.into_owned(),
                        }
                    })
                    .collect();
                return Err(format!(
                    "'nix {}' did not finish within {} s and was stopped (set NIXP_TIMEOUT or \"timeout\" in nixp's config to wait longer)",
                    args.join(" "),
                    self.timeout.as_secs_f64()
                ));
            }
        }
        .map_err(|e| format!("cannot wait for nix '{program}': {e}"))?;
        Ok(Output {
            status,
            stdout: stdout.join().unwrap_or_default(),
            stderr: stderr.join().unwrap_or_default(),
        })
    }

    /// Runs nix; its stdout when it succeeds, else what it printed.
    pub fn stdout(self) -> std::result::Result<Vec<u8>, Failure> {
        let out = self.output().map_err(|message| Failure {
            message,
            stderr: String::new(),
        })?;
        if !out.status.success() {
            return Err(Failure {
                message: message::cause(&out.stderr),
                stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
            });
        }
        Ok(out.stdout)
    }

    /// Runs nix and reads what it prints as JSON; `None` when nix fails.
    pub fn json(self) -> Option<serde_json::Value> {
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

/// nix's settings, as `nix config show --json` prints them (`nix
/// show-config --json` before 2.20).
pub fn settings(nix: &Nix) -> Option<serde_json::Value> {
    let ask = |words: &[&str]| nix.call().args(words).json();
    ask(&["config", "show", "--json"]).or_else(|| ask(&["show-config", "--json"]))
}
