//! Test harness: runs the built `nixp` in a temporary HOME with its own
//! config, never the user's; a stub `nix` that records its argv; and the
//! real nix, offline, for tests that need it.
#![allow(dead_code, clippy::unwrap_used, clippy::panic, clippy::print_stderr)]

use std::ffi::OsStr;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;

pub mod leak;

pub const NIXP: &str = env!("CARGO_BIN_EXE_nixp");

/// A sandbox: its own HOME, XDG dirs, system config paths (nixp's and
/// nix's) and PATH.
pub struct Env {
    pub dir: tempfile::TempDir,
    extra_env: Vec<(String, String)>,
}

/// What a run printed and how it ended.
#[derive(Debug)]
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Asserts success and returns stdout.
    #[track_caller]
    pub fn ok(&self) -> &str {
        assert_eq!(self.code, 0, "expected success, got {self:#?}");
        &self.stdout
    }

    #[track_caller]
    pub fn fails_with(&self, code: i32) -> &str {
        assert_eq!(self.code, code, "expected exit {code}, got {self:#?}");
        &self.stderr
    }

    /// The `out` path of the first result of a successful `build --json`.
    #[track_caller]
    pub fn out_path(&self) -> String {
        self.ok();
        let v = self.json();
        v[0]["outputs"]["out"]
            .as_str()
            .unwrap_or_else(|| panic!("no out path: {self:#?}"))
            .to_string()
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:#?}"))
    }

    pub fn lines(&self) -> Vec<&str> {
        self.stdout.lines().collect()
    }
}

impl Env {
    pub fn new() -> Env {
        let dir = tempfile::tempdir().unwrap();
        for d in ["home/.config", "home/.cache", "bin"] {
            std::fs::create_dir_all(dir.path().join(d)).unwrap();
        }
        // nix's global registry: an empty local file, never a download
        // (nixp reads it for chains, as nix does).
        let registry = dir.path().join("global-registry.json");
        std::fs::write(&registry, r#"{"flakes":[],"version":2}"#).unwrap();
        Env {
            extra_env: vec![(
                "NIX_CONFIG".into(),
                format!("flake-registry = {}\n", registry.display()),
            )],
            dir,
        }
    }

    pub fn root(&self) -> &Path {
        self.dir.path()
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }

    /// The path as a string, for command lines and expectations.
    pub fn p(&self, rel: &str) -> String {
        self.path(rel).to_str().unwrap().to_string()
    }

    pub fn write(&self, rel: &str, contents: &str) -> PathBuf {
        let p = self.path(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(&p, contents).unwrap();
        p
    }

    pub fn read(&self, rel: &str) -> String {
        std::fs::read_to_string(self.path(rel)).unwrap()
    }

    /// A directory holding a `flake.nix` (content irrelevant to nixp).
    pub fn flake(&self, rel: &str) -> PathBuf {
        self.write(
            &format!("{rel}/flake.nix"),
            "{ outputs = { self }: { }; }\n",
        );
        self.path(rel)
    }

    /// The user config file (`$XDG_CONFIG_HOME/nixp/config.json`).
    pub fn user_config(&self) -> PathBuf {
        self.path("home/.config/nixp/config.json")
    }

    pub fn config(&self, json: serde_json::Value) {
        self.write(
            "home/.config/nixp/config.json",
            &serde_json::to_string_pretty(&json).unwrap(),
        );
    }

    /// A user config of `dir` layers only: (name, directory below the
    /// sandbox), in stack order.
    pub fn dir_layers(&self, layers: &[(&str, &str)]) {
        let layers: Vec<serde_json::Value> = layers
            .iter()
            .map(|(name, dir)| serde_json::json!({"name": name, "dir": self.p(dir)}))
            .collect();
        self.config(serde_json::json!({ "layers": layers }));
    }

    pub fn system_config(&self, json: serde_json::Value) {
        self.write("system.json", &serde_json::to_string_pretty(&json).unwrap());
    }

    pub fn set_env(&mut self, k: &str, v: &str) {
        self.extra_env.push((k.into(), v.into()));
    }

    /// A command for the nixp binary in this sandbox.
    pub fn cmd(&self) -> Command {
        self.sandboxed(NIXP)
    }

    /// A command for any program, with this sandbox's environment and cwd.
    pub fn sandboxed(&self, program: impl AsRef<OsStr>) -> Command {
        let mut c = Command::new(program);
        self.apply(&mut c);
        c
    }

    /// nixp in this sandbox, on a store where nix never ran
    /// (`on_a_fresh_store`).
    pub fn nixp_on_a_fresh_store(&self) -> Option<(Command, tempfile::TempDir)> {
        let (mut c, store) = on_a_fresh_store(NIXP)?;
        self.apply(&mut c);
        Some((c, store))
    }

    /// This sandbox's environment and cwd, on `c`.
    fn apply(&self, c: &mut Command) {
        c.current_dir(self.root());
        for (k, _) in std::env::vars_os() {
            let k = k.to_string_lossy();
            if k.starts_with("NIXP_") || k.starts_with("NIX_") || k.starts_with("XDG_") {
                c.env_remove(&*k);
            }
        }
        c.env("HOME", self.path("home"))
            .env("XDG_CONFIG_HOME", self.path("home/.config"))
            .env("XDG_CACHE_HOME", self.path("home/.cache"))
            .env("NIXP_SYSTEM_CONFIG", self.path("system.json"))
            // nix's system files are the sandbox's too (nix.conf,
            // registry.json), not the machine's.
            .env("NIX_CONF_DIR", self.path("etc-nix"))
            .env("XDG_CONFIG_DIRS", self.path("etc-xdg"))
            .env(
                "PATH",
                format!("{}:/usr/local/bin:/usr/bin:/bin", self.p("bin")),
            );
        for (k, v) in &self.extra_env {
            c.env(k, v);
        }
    }

    /// A command for the real nix with this sandbox's environment.
    pub fn nix_cmd(&self) -> Command {
        self.sandboxed("nix")
    }

    pub fn nixp<S: AsRef<OsStr>>(&self, args: &[S]) -> Run {
        run(self.cmd().args(args))
    }

    /// Installs a stub `nix` first on PATH that records its argv (one
    /// argument per line) in `nix-argv`, prints `stub-nix`, and exits with
    /// `$STUB_EXIT` (default 0). Schema dumps (`__dump-*`) fail, so nixp
    /// uses its built-in schema, and are counted in `nix-dumps`.
    pub fn stub_nix(&self) -> PathBuf {
        self.stub_nix_at("bin/nix")
    }

    pub fn stub_nix_at(&self, rel: &str) -> PathBuf {
        let log = self.p("nix-argv");
        let dumps = self.p("nix-dumps");
        // `nix flake prefetch` (nixp reading a private flake's inputs)
        // answers with an empty flake, and is not logged.
        let fetched = self.write("prefetched/flake.nix", "{ outputs = _: { }; }\n");
        let fetched = fetched.parent().unwrap().display().to_string();
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in __dump-*) echo \"$1\" >> '{dumps}'; exit 1;; esac\ncase \"$*\" in *'flake prefetch --json'*) echo '{{\"storePath\": \"{fetched}\"}}'; exit 0;; esac\n: > '{log}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{log}'; done\necho stub-nix\nexit \"${{STUB_EXIT:-0}}\"\n"
        );
        let p = self.write(rel, &script);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// A stub `nix` (as `stub_nix`) that answers `nix __dump-cli` with
    /// `dump` (nix's own format: `{"args": COMMAND-TREE}`), for the
    /// command-line schema of a nix version that cannot run here.
    pub fn stub_nix_dumping(&self, dump: &serde_json::Value) -> PathBuf {
        let file = self.write("nix-dump.json", &dump.to_string());
        let log = self.p("nix-argv");
        let script = format!(
            "#!/bin/sh\ncase \"$1\" in __dump-cli) cat '{}'; exit 0;; __dump-*|config|show-config|--extra-experimental-features) exit 1;; esac\n: > '{log}'\nfor a in \"$@\"; do printf '%s\\n' \"$a\" >> '{log}'; done\necho stub-nix\n",
            file.display()
        );
        let p = self.write("bin/nix", &script);
        std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
        p
    }

    /// How many times the stub was asked for a schema dump.
    pub fn nix_dumps(&self) -> usize {
        std::fs::read_to_string(self.path("nix-dumps")).map_or(0, |s| s.lines().count())
    }

    /// Whether the stub nix ran a command (not a dump).
    pub fn nix_ran(&self) -> bool {
        self.path("nix-argv").exists()
    }

    /// The argv the stub nix last received (without argv[0]).
    pub fn nix_argv(&self) -> Vec<String> {
        self.read("nix-argv").lines().map(String::from).collect()
    }
}

pub fn run(cmd: &mut Command) -> Run {
    let out = cmd.output().unwrap();
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// The `NIX_CONFIG` of `Env::use_real_nix` with `registry` as nix's global
/// registry, then the lines `extra`.
pub fn real_nix_conf(registry: &Path, extra: &str) -> String {
    format!(
        "experimental-features = nix-command flakes\nsandbox = false\nbuild-users-group =\nsubstituters =\ndownload-attempts = 1\nflake-registry = {}\n{extra}",
        registry.display()
    )
}

/// A sandbox set up for the real nix (`Env::use_real_nix`), or `None`
/// when nix is not installed (see `real_nix`).
pub fn real_nix_env() -> Option<Env> {
    real_nix()?;
    let mut env = Env::new();
    env.use_real_nix();
    Some(env)
}

/// The real nix, offline, or `None` (with a printed reason) when it is not
/// installed. With `NIXP_REQUIRE_NIX=1` a missing nix fails the test.
pub fn real_nix() -> Option<PathBuf> {
    match which("nix") {
        Some(p) => Some(p),
        None => {
            if std::env::var("NIXP_REQUIRE_NIX").is_ok_and(|v| v == "1") {
                panic!("NIXP_REQUIRE_NIX=1 but no nix on PATH");
            }
            eprintln!(
                "skipped: no nix on PATH (install nix-bin, or set NIXP_REQUIRE_NIX=1 to fail instead)"
            );
            None
        }
    }
}

/// The real nix's version, `(major, minor)` (`(0, 0)` without nix): for
/// the few command lines whose syntax changed between the versions the
/// tests run on (2.8 and 2.26).
pub fn nix_version() -> (u32, u32) {
    static VERSION: std::sync::OnceLock<(u32, u32)> = std::sync::OnceLock::new();
    *VERSION.get_or_init(|| {
        let Some(nix) = which("nix") else {
            return (0, 0);
        };
        let out = run(Command::new(nix).arg("--version")).stdout;
        let v = out.split_whitespace().last().unwrap_or_default();
        let mut n = v.split('.').map(|p| p.parse().unwrap_or(0));
        (n.next().unwrap_or(0), n.next().unwrap_or(0))
    })
}

/// `nix flake update` of the flake in `dir`: a positional before 2.19,
/// `--flake DIR` since (positionals became input names).
pub fn flake_update_of(dir: &str) -> Vec<&str> {
    if nix_version() >= (2, 19) {
        vec!["flake", "update", "--flake", dir]
    } else {
        vec!["flake", "update", dir]
    }
}

/// The words that make `nix profile upgrade` upgrade every element: a
/// regex before 2.20, `--all` since (positionals became element names).
pub fn upgrade_all() -> &'static str {
    if nix_version() >= (2, 20) {
        "--all"
    } else {
        ".*"
    }
}

fn which(name: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")
        .iter()
        .flat_map(std::env::split_paths)
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

impl Env {
    /// Settings that make the real nix work offline, as root, without a
    /// daemon, with an empty global registry and this sandbox's HOME.
    pub fn use_real_nix(&mut self) {
        let reg = self.write("global-registry.json", r#"{"flakes":[],"version":2}"#);
        let conf = real_nix_conf(&reg, "");
        self.set_env("NIX_CONFIG", &conf);
    }

    /// Makes `NIXP_NIX` a `logging_nix` that appends its command lines to
    /// `log`, to count the nix calls nixp makes.
    pub fn log_nix_calls(&mut self, log: &str) {
        let nix = self.logging_nix(log);
        self.set_env("NIXP_NIX", &nix.to_string_lossy());
    }

    /// A real flake: each `(attr, program, says)` is a package
    /// `packages.x86_64-linux.<attr>` whose `bin/<program>` prints `says`
    /// and then each of its arguments on a line of its own. `extra` is
    /// more Nix attributes of `outputs` (it may use `mk program says`).
    pub fn real_flake_with(
        &self,
        rel: &str,
        packages: &[(&str, &str, &str)],
        extra: &str,
    ) -> PathBuf {
        let mut attrs = String::new();
        for (pkg, program, says) in packages {
            attrs.push_str(&format!("      {pkg} = mk \"{program}\" \"{says}\";\n"));
        }
        let text = format!(
            r##"{{
  outputs = {{ self }}: let
    mk = program: says: derivation {{
      name = program; system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "/bin/mkdir -p $out/bin && /bin/cp ${{builtins.toFile program "#!/bin/sh\nprintf '%s\\n' ${{says}} \"$@\"\n"}} $out/bin/${{program}} && /bin/chmod +x $out/bin/${{program}}" ];
    }};
  in {{
    packages.x86_64-linux = {{
{attrs}    }};
{extra}
  }};
}}
"##
        );
        self.write(&format!("{rel}/flake.nix"), &text);
        self.path(rel)
    }

    pub fn real_flake(&self, rel: &str, packages: &[(&str, &str, &str)]) -> PathBuf {
        self.real_flake_with(rel, packages, "")
    }

    /// A `nix` that appends each of its command lines to the file `log`
    /// and runs the real nix: for `NIXP_NIX`, to count the calls nixp makes.
    pub fn logging_nix(&self, log: &str) -> PathBuf {
        let real = real_nix().unwrap();
        let wrapper = self.write(
            "logging/nix",
            &format!(
                "#!/bin/sh\necho \"$*\" >> '{}'\nexec '{}' \"$@\"\n",
                self.p(log),
                real.display()
            ),
        );
        std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
        wrapper
    }

    /// Runs git in `dir` (below the sandbox), as a test author.
    pub fn git(&self, dir: &str, args: &[&str]) {
        let out = run(self
            .sandboxed("git")
            .current_dir(self.path(dir))
            .args(["-c", "user.email=t@example.org", "-c", "user.name=t"])
            .args(args));
        assert_eq!(out.code, 0, "git {args:?}: {out:#?}");
    }

    /// Builds `reference` with the real nix and returns the `out` path.
    pub fn nix_build(&self, reference: &str) -> String {
        run(self
            .nix_cmd()
            .args(["build", "--no-link", "--json", reference]))
        .out_path()
    }
}

/// A command that runs `program` where nix has never run: in a private
/// mount namespace with an empty directory over `/nix` (so the store, its
/// database and nix's state are all new), as on a fresh machine. `None`,
/// with a printed reason, where that cannot be done (it needs root and
/// `unshare`); the directory goes with the returned guard.
pub fn on_a_fresh_store(program: &str) -> Option<(Command, tempfile::TempDir)> {
    real_nix()?;
    let root = run(Command::new("id").arg("-u")).stdout.trim() == "0";
    if !root || which("unshare").is_none() {
        // CI runs as root: there, this test may not be skipped.
        if std::env::var("NIXP_REQUIRE_NIX").is_ok_and(|v| v == "1") {
            panic!("NIXP_REQUIRE_NIX=1 but a fresh /nix needs root and unshare");
        }
        eprintln!("skipped: a fresh /nix needs root and unshare");
        return None;
    }
    let empty = tempfile::tempdir().unwrap();
    let mut cmd = Command::new("unshare");
    cmd.args(["--mount", "--propagation", "private", "sh", "-c"])
        .arg("mkdir -p /nix && mount --bind \"$0\" /nix && exec \"$@\"")
        .arg(empty.path())
        .arg(program);
    Some((cmd, empty))
}
