//! nix versions that cannot run here, handled from their facts (see the
//! README's table): a stub nix serves each version's recorded schema
//! (`nix __dump-cli`, as much of it as the test needs) and records the
//! command line nixp gives it.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::{Value, json};

/// A command taking installables, with the flags nixp passes.
fn installables() -> Value {
    json!({
        "args": [{"label": "installables"}],
        "flags": {"override-flake": {"arity": 2}, "profile": {"arity": 1}, "json": {"arity": 0}},
    })
}

/// A dump (`__dump-cli`'s format) whose top level has `commands`; `extra`
/// are more top-level keys (`fetchers`, `stores`: nixp reads neither).
fn dump(commands: Value, extra: Value) -> Value {
    let mut d = json!({"args": {
        "args": [{"label": "subcommand", "arity": 1}],
        "flags": {"option": {"arity": 2}},
        "commands": commands,
    }});
    for (k, v) in extra.as_object().unwrap() {
        d[k] = v.clone();
    }
    d
}

fn multi(commands: Value) -> Value {
    json!({"args": [{"label": "subcommand", "arity": 1}], "commands": commands})
}

/// A dir layer PKGS holding foo, and a stub nix serving `schema`.
fn env_with(schema: &Value) -> Env {
    let env = Env::new();
    env.flake("flakes/foo");
    env.dir_layers(&[("PKGS", "flakes")]);
    env.stub_nix_dumping(schema);
    env
}

/// nixp's command line `line` reached the stub with `foo` made concrete.
fn rewritten(env: &Env, line: &[&str]) {
    let r = env.nixp(line);
    assert_eq!(r.code, 0, "{line:?}: {r:#?}");
    let concrete = format!("{}#MAIN_PKG", env.p("flakes/foo"));
    let want: Vec<String> = line
        .iter()
        .map(|w| {
            if *w == "foo#MAIN_PKG" {
                concrete.clone()
            } else {
                w.to_string()
            }
        })
        .collect();
    assert_eq!(env.nix_argv(), want, "{line:?}");
}

#[test]
fn profile_add_of_nix_2_30_and_its_alias_install() {
    // nix 2.30: `profile add`; `install` is an alias the dump does not list
    // (since 2.29 each multi-command keeps its own aliases).
    let env = env_with(&dump(
        json!({"profile": multi(json!({"add": installables()}))}),
        json!({"fetchers": {}, "stores": {}}),
    ));
    rewritten(&env, &["profile", "add", "foo#MAIN_PKG"]);
    rewritten(&env, &["profile", "install", "foo#MAIN_PKG"]);
}

#[test]
fn env_shell_of_nix_2_23_and_its_shorthand_shell() {
    let env = env_with(&dump(
        json!({"env": multi(json!({"shell": installables()}))}),
        json!({"fetchers": {}}),
    ));
    rewritten(&env, &["env", "shell", "foo#MAIN_PKG"]);
    rewritten(&env, &["shell", "foo#MAIN_PKG"]);
}

#[test]
fn store_build_trace_of_nix_2_35_and_its_old_name_realisation() {
    let env = env_with(&dump(
        json!({"store": multi(json!({"build-trace": multi(json!({"info": installables()}))}))}),
        json!({"fetchers": {}}),
    ));
    rewritten(&env, &["store", "build-trace", "info", "foo#MAIN_PKG"]);
    rewritten(&env, &["realisation", "info", "foo#MAIN_PKG"]);
}

#[test]
fn lix_s_dump_without_fetchers_and_its_old_command_names() {
    // Lix: `__dump-cli` has no `fetchers`; only `profile install` and
    // `shell`, which are real commands there. `--eval-system` (not in nix
    // 2.8, whose schema nixp falls back to) shows the dump was read.
    let mut shell = installables();
    shell["flags"]["eval-system"] = json!({"arity": 1});
    let env = env_with(&dump(
        json!({
            "profile": multi(json!({"install": installables()})),
            "shell": shell,
        }),
        json!({"stores": {}}),
    ));
    rewritten(&env, &["profile", "install", "foo#MAIN_PKG"]);
    rewritten(
        &env,
        &["shell", "--eval-system", "x86_64-linux", "foo#MAIN_PKG"],
    );
    // `profile add` is not a Lix command: left as written, for Lix to
    // refuse ("'add' is not a recognised command"), as it does without nixp.
    let r = env.nixp(&["profile", "add", "foo#MAIN_PKG"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(env.nix_argv(), ["profile", "add", "foo#MAIN_PKG"]);
}

/// nix 2.29–2.31 lost `dir` in registry entries (NixOS/nix#13269). nixp
/// reads a registry layer itself and gives nix the subdirectory inside the
/// reference (`git+file:///r?dir=sub`), which every version reads: run
/// here on the versions that can run, and the reference checked.
#[test]
fn a_registry_layer_entry_with_dir_reaches_nix_inside_the_reference() {
    let Some(l) = common::leak::Leak::new() else {
        return;
    };
    let env = &l.env;
    common::leak::plain(env, "repo", "root");
    common::leak::plain(env, "repo/sub", "sub");
    env.git("repo", &["init", "-q"]);
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "x"]);
    let url = format!("file://{}", env.p("repo"));
    env.write(
        "team.json",
        &json!({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "foo"},
            "to": {"type": "git", "url": url, "dir": "sub"}}]})
        .to_string(),
    );
    env.config(json!({"layers": [{"name": "T", "registry": env.p("team.json")}]}));
    assert_eq!(
        env.nixp(&["resolve", "foo#says"]).ok(),
        format!("git+{url}?dir=sub#says\n")
    );
    assert_eq!(l.says(&["foo#says"]), "sub");
    // An input `foo` of a flake of your own: overridden the same way.
    common::leak::with_foo(env, "mine/u", "u");
    assert_eq!(l.says(&[&format!("{}#says", env.p("mine/u"))]), "u+sub");
}

/// Determinate Nix's `nix flake show --json` has its own shape (`what`,
/// `shortDescription`, `children`). nixp never reads it: what a flake
/// offers comes from its own probe (`nix eval`), the same on every version.
#[test]
fn what_a_flake_offers_is_never_read_from_flake_show() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    env.real_flake("a/foo", &[("other", "o", "o")]);
    env.real_flake("b/foo", &[("MAIN_PKG", "m", "m")]);
    env.dir_layers(&[("A", "a"), ("B", "b")]);
    env.log_nix_calls("calls");
    assert_eq!(
        env.nixp(&["resolve", "foo#MAIN_PKG"]).ok(),
        format!("{}#MAIN_PKG\n", env.p("b/foo"))
    );
    let r = env.nixp(&["list", "--outputs"]);
    assert!(r.ok().contains("packages: other"), "{r:#?}");
    let calls = env.read("calls");
    // The probe: `nix --extra-experimental-features ... eval ...`.
    assert!(
        calls
            .lines()
            .any(|c| c.split_whitespace().any(|w| w == "eval")),
        "{calls}"
    );
    assert!(!calls.lines().any(|c| c.contains("flake show")), "{calls}");
}

/// nix 2.19+'s `--reference-lock-file FILE`: nix takes the top flake's
/// inputs from FILE instead of its flake.lock, so FILE is the lock nixp
/// checks (a lock pinning a private id to a look-alike is refused).
#[test]
fn a_reference_lock_file_is_the_lock_checked() {
    let mut eval = installables();
    eval["flags"]["reference-lock-file"] = json!({"arity": 1});
    eval["flags"]["raw"] = json!({"arity": 0});
    let env = env_with(&dump(json!({"eval": eval}), json!({"fetchers": {}})));
    env.write(
        "u/flake.nix",
        "{ inputs.foo.url = \"foo\"; outputs = { self, foo }: { }; }",
    );
    env.write(
        "public.lock",
        &json!({"nodes": {"root": {"inputs": {"foo": "foo"}},
            "foo": {"original": {"type": "indirect", "id": "foo"}, "locked": {"type": "path", "path": "/public/foo"}}},
            "root": "root", "version": 7})
        .to_string(),
    );
    let u = format!("{}#says", env.p("u"));
    let r = env.nixp(&["eval", "--raw", &u]);
    assert_eq!(r.code, 0, "{r:#?}");
    std::fs::remove_file(env.path("nix-argv")).unwrap();
    let r = env.nixp(&[
        "eval",
        "--raw",
        &u,
        "--reference-lock-file",
        &env.p("public.lock"),
    ]);
    assert!(
        r.fails_with(1)
            .contains("locks input 'foo' ('foo') to path:/public/foo"),
        "{r:#?}"
    );
    assert!(!env.nix_ran(), "nix ran: {:?}", env.nix_argv());
}

/// nix 2.14+'s `use-xdg-base-directories`: the default profile is
/// `$XDG_STATE_HOME/nix/profile`, not `~/.nix-profile`, and that is the
/// one `profile upgrade` re-resolves.
#[test]
fn profile_upgrade_reads_the_profile_nix_s_settings_name() {
    let upgrade = json!({
        "args": [{"label": "elements"}],
        "flags": {"all": {"arity": 0}, "override-flake": {"arity": 2}, "profile": {"arity": 1},
            "use-xdg-base-directories": {"arity": 0}},
    });
    let mut env = env_with(&dump(
        json!({"profile": multi(json!({"upgrade": upgrade}))}),
        json!({"fetchers": {}}),
    ));
    let manifest = |url: &str| {
        json!({"version": 3, "elements": {"says": {"originalUrl": url, "storePaths": []}}})
            .to_string()
    };
    env.write("home/.nix-profile/manifest.json", &manifest("flake:bar"));
    env.write(
        "home/.local/state/nix/profile/manifest.json",
        &manifest("flake:foo"),
    );
    let foo = env.p("flakes/foo");
    let upgraded_foo = |env: &Env, args: &[&str]| {
        let r = env.nixp(args);
        assert_eq!(r.code, 0, "{r:#?}");
        env.nix_argv()
            .windows(3)
            .any(|w| w[0] == "--override-flake" && w[2] == foo)
    };
    assert!(!upgraded_foo(&env, &["profile", "upgrade", "--all"]));
    assert!(upgraded_foo(
        &env,
        &["profile", "upgrade", "--use-xdg-base-directories", "--all"]
    ));
    env.set_env("NIX_CONFIG", "use-xdg-base-directories = true");
    assert!(upgraded_foo(&env, &["profile", "upgrade", "--all"]));
}
