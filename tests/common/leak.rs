//! The leak harness: nix's global registry (the `flake-registry` setting)
//! maps every private id to a look-alike public flake that says "PUBLIC".
use super::{Env, real_nix_conf, real_nix_env};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::Path;

/// A flake whose `says` is `says`, with `inputs` (Nix text) and `says`
/// computed from them by `expr` (Nix, may use the inputs).
pub fn flake(env: &Env, rel: &str, inputs: &str, args: &str, expr: &str) {
    env.write(
        &format!("{rel}/flake.nix"),
        &format!(
            r##"{{
  {inputs}
  outputs = {{ self{args} }}: {{
    says = {expr};
    packages.x86_64-linux.default = derivation {{
      name = "pkg-" + ({expr}); system = "x86_64-linux"; builder = "/bin/sh";
      args = [ "-c" "/bin/mkdir -p $out/bin && /bin/cp ${{builtins.toFile "says" "#!/bin/sh\necho ${{{expr}}}\n"}} $out/bin/says && /bin/chmod +x $out/bin/says" ];
    }};
  }};
}}
"##
        ),
    );
}

/// A flake whose input is `foo`, and says `PREFIX+` what foo says.
pub fn with_foo(env: &Env, rel: &str, prefix: &str) {
    let expr = format!("\"{prefix}+\" + foo.says");
    flake(env, rel, r#"inputs.foo.url = "foo";"#, ", foo", &expr);
}

pub fn plain(env: &Env, rel: &str, says: &str) {
    flake(env, rel, "", "", &format!("\"{says}\""));
}

/// Every file below `dir`, with its size and modification time.
pub fn listing(dir: &Path) -> BTreeMap<String, (u64, std::time::SystemTime)> {
    let mut out = BTreeMap::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let md = std::fs::symlink_metadata(e.path()).unwrap();
            if md.is_dir() {
                todo.push(e.path());
            }
            out.insert(
                e.path().display().to_string(),
                (md.len(), md.modified().unwrap()),
            );
        }
    }
    out
}

/// The stack: `PKGS` (dir: foo, bar, app, and a private input of app),
/// `C` (claims `acme-*`, holds acme-x), and the public registry with
/// look-alikes for foo, bar, acme-x, PKGS and gamma.
pub struct Leak {
    pub env: Env,
    layers: Vec<String>,
}

impl Leak {
    pub fn new() -> Option<Leak> {
        let mut env = real_nix_env()?;
        for id in ["foo", "bar", "acme-x", "PKGS", "gamma", "app"] {
            plain(&env, &format!("public/{id}"), &format!("PUBLIC-{id}"));
        }
        let flakes: Vec<_> = ["foo", "bar", "acme-x", "PKGS", "gamma", "app"]
            .iter()
            .map(|id| json!({"from": {"type": "indirect", "id": id}, "to": {"type": "path", "path": env.p(&format!("public/{id}"))}}))
            .collect();
        env.write(
            "public-registry.json",
            &json!({"version": 2, "flakes": flakes}).to_string(),
        );
        let conf = real_nix_conf(&env.path("public-registry.json"), "");
        env.set_env("NIX_CONFIG", &conf);
        plain(&env, "layers/pkgs/foo", "private-foo");
        plain(&env, "layers/pkgs/bar", "private-bar");
        with_foo(&env, "layers/pkgs/app", "app");
        plain(&env, "layers/claims/acme-x", "private-acme-x");
        env.write(
            "layers/claims.json",
            &json!({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "acme-x"}, "to": {"type": "path", "path": env.p("layers/claims/acme-x")}}]}).to_string(),
        );
        env.config(json!({"layers": [
            {"name": "PKGS", "dir": env.p("layers/pkgs")},
            {"name": "C", "registry": env.p("layers/claims.json"), "ids": ["acme-*"]},
        ]}));
        Some(Leak {
            layers: vec![env.p("layers")],
            env,
        })
    }

    pub fn snapshot(&self) -> Vec<BTreeMap<String, (u64, std::time::SystemTime)>> {
        self.layers.iter().map(|l| listing(Path::new(l))).collect()
    }

    /// The flake.lock at `rel` locks `foo` to the private one.
    #[track_caller]
    pub fn locked_privately(&self, rel: &str) {
        let lock = self.env.read(rel);
        assert!(
            lock.contains("layers/pkgs/foo") && !lock.contains("public"),
            "{lock}"
        );
    }

    /// `nixp eval --raw REF#says` (and the flags before it): what it says.
    #[track_caller]
    pub fn says(&self, args: &[&str]) -> String {
        let before = self.snapshot();
        let r = self.env.nixp(&[&["eval", "--raw"], args].concat());
        assert_eq!(
            self.snapshot(),
            before,
            "a layer's directory changed: {r:#?}"
        );
        assert!(
            !r.stdout.contains("PUBLIC"),
            "a public look-alike answered: {r:#?}"
        );
        r.ok().to_string()
    }
}

/// A git repository `repo` whose default branch has a flake without
/// inputs, and whose branch `evil` has one whose input is `foo`.
pub fn two_branch_repo(env: &Env) -> String {
    plain(env, "repo", "main");
    with_branch(env, "evil", || {
        flake(
            env,
            "repo",
            r#"inputs.foo.url = "foo";"#,
            ", foo",
            r#""evil+" + foo.says"#,
        )
    });
    format!("git+file://{}", env.p("repo"))
}

/// Makes `repo` a git repository of what it holds, on `main`, with a
/// branch `branch` that `change` makes; `main` checked out.
pub fn with_branch(env: &Env, branch: &str, change: impl Fn()) {
    env.git("repo", &["init", "-q", "-b", "main"]);
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "main"]);
    env.git("repo", &["checkout", "-qb", branch]);
    change();
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", branch]);
    env.git("repo", &["checkout", "-q", "main"]);
}
