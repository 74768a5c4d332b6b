//! Routes by which nix reaches a private id nixp was not shown: a lock
//! inside a fetched input, nix's registries named by settings and files
//! nixp must read as nix does, chains that start at a layer's own target,
//! nix's search path, and the whole command line of a completion. In the
//! harness of `common::leak`: every private id has a public look-alike.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;
use common::leak::*;
use common::*;
use serde_json::json;

/// Writes a registry file of `entries` (`(id, to)`, `to` as JSON).
fn registry(env: &Env, rel: &str, entries: &[(&str, serde_json::Value)]) -> String {
    let flakes: Vec<_> = entries
        .iter()
        .map(|(id, to)| json!({"from": {"type": "indirect", "id": id}, "to": to}))
        .collect();
    env.write(rel, &json!({"version": 2, "flakes": flakes}).to_string());
    env.p(rel)
}

fn indirect(id: &str) -> serde_json::Value {
    json!({"type": "indirect", "id": id})
}

/// Packs `pack/NAME` as the tarball `NAME.tar.gz`; its `file://` URL.
fn tarball(env: &Env, name: &str) -> String {
    let tar = run(std::process::Command::new("tar")
        .current_dir(env.path("pack"))
        .args(["czf", &format!("../{name}.tar.gz"), name]));
    assert_eq!(tar.code, 0, "{tar:#?}");
    format!("file://{}", env.p(&format!("{name}.tar.gz")))
}

/// `mine/NAME`, whose input `dep` is `url` and says "top+" what dep says.
fn top(env: &Env, name: &str, url: &str) -> String {
    flake(
        env,
        &format!("mine/{name}"),
        &format!(r#"inputs.dep.url = "{url}";"#),
        ", dep",
        r#""top+" + dep.says"#,
    );
    env.p(&format!("mine/{name}"))
}

/// `nix flake lock DIR` by plain nix, which asks its registries.
fn locked_plainly(env: &Env, dir: &str) {
    let r = run(env.nix_cmd().args(["flake", "lock", dir]));
    assert_eq!(r.code, 0, "{r:#?}");
}

/// nixp refuses to evaluate `top`, and its error says each of `says`.
#[track_caller]
fn refused(l: &Leak, top: &str, says: &[String]) {
    let r = l.env.nixp(&["eval", "--raw", &format!("{top}#says")]);
    let e = r.fails_with(1);
    assert!(
        says.iter().all(|s| e.contains(s.as_str())),
        "{says:#?}: {r:#?}"
    );
}

/// `nixp flake lock --update-input dep/foo TOP`: then top's dep gets the
/// private foo.
#[track_caller]
fn relocked_privately(l: &Leak, top: &str) {
    let r = l
        .env
        .nixp(&["flake", "lock", "--update-input", "dep/foo", top]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(l.says(&[&format!("{top}#says")]), "top+dep+private-foo");
}

#[test]
fn a_stale_lock_inside_a_fetched_input_is_refused() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    // `dep` locked by plain nix (the look-alike), then packed: nix locks a
    // fetched input's inputs from the lock inside it.
    with_foo(env, "pack/dep", "dep");
    locked_plainly(env, &env.p("pack/dep"));
    assert!(env.read("pack/dep/flake.lock").contains("public/foo"));
    let url = tarball(env, "dep");
    let top = top(env, "top", &url);
    let plain = run(env.nix_cmd().args([
        "eval",
        "--raw",
        "--no-write-lock-file",
        &format!("{top}#says"),
    ]));
    assert_eq!(plain.ok(), "top+dep+PUBLIC-foo");
    refused(
        &l,
        &top,
        &[
            format!("the flake.lock of '{url}' (fetched to '"),
            "locks input 'foo' ('foo') to path:".into(),
            format!(
                "in the flake that has '{url}' as input NAME, run 'nixp flake lock --update-input NAME/foo'"
            ),
        ],
    );
    assert!(!env.path("mine/top/flake.lock").exists());
    // What the error says to do, done.
    relocked_privately(&l, &top);
}

#[test]
fn a_stale_lock_below_a_fetched_input_is_refused() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    // `dep` has no lock; the top, locked by plain nix, locks dep's foo.
    with_foo(env, "pack/dep", "dep");
    let top = top(env, "top", &tarball(env, "dep"));
    locked_plainly(env, &top);
    refused(
        &l,
        &top,
        &[format!(
            "the flake.lock of '{top}' locks input 'dep/foo' ('foo') to path:"
        )],
    );
    relocked_privately(&l, &top);
}

#[test]
fn a_nested_flake_s_own_lock_counts_only_where_nix_reads_it() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    with_foo(env, "mine/dep", "dep");
    let dep = env.p("mine/dep");
    locked_plainly(env, &dep);
    let top = top(env, "top", &format!("path:{dep}"));
    // The top has no lock: nix would lock dep's foo from dep's own lock.
    refused(
        &l,
        &top,
        &[
            format!("the flake.lock of '{dep}' locks input 'foo' ('foo') to path:"),
            format!("run 'nixp flake lock --update-input foo {dep}'"),
        ],
    );
    // Locked anew from the top: nix reads the top's lock, not dep's.
    relocked_privately(&l, &top);
    assert!(env.read("mine/dep/flake.lock").contains("public/foo"));
}

#[test]
fn a_registry_named_on_the_command_line_chains_to_the_private_flake() {
    let Some(l) = Leak::new() else { return };
    let public = l.env.p("public/foo");
    let reg = registry(
        &l.env,
        "cmdline-registry.json",
        &[
            ("chain", indirect("foo")),
            ("foo", json!({"type": "path", "path": public})),
        ],
    );
    let plain =
        run(l
            .env
            .nix_cmd()
            .args(["eval", "--raw", "--flake-registry", &reg, "chain#says"]));
    assert_eq!(plain.ok(), "PUBLIC-foo");
    assert_eq!(
        l.says(&["--flake-registry", &reg, "chain#says"]),
        "private-foo"
    );
    assert_eq!(
        l.says(&["--option", "flake-registry", &reg, "chain#says"]),
        "private-foo"
    );
}

#[test]
fn a_registry_named_in_an_included_settings_file_chains_too() {
    let Some(mut l) = Leak::new() else { return };
    let public = l.env.p("public/foo");
    let reg = registry(
        &l.env,
        "conf-registry.json",
        &[
            ("chain", indirect("foo")),
            ("foo", json!({"type": "path", "path": public})),
        ],
    );
    // NIX_CONFIG without a flake-registry; the user's file includes one
    // that names it.
    let conf = real_nix_conf(&l.env.path("x"), "");
    let conf: String = conf
        .lines()
        .filter(|line| !line.starts_with("flake-registry"))
        .map(|line| format!("{line}\n"))
        .collect();
    l.env.set_env("NIX_CONFIG", &conf);
    // nix 2.26 ignores `flake-registry` where flakes are not enabled yet
    // (NIX_CONFIG comes after this file).
    l.env.write(
        "conf/nix.conf",
        "# mine\nexperimental-features = nix-command flakes\ninclude more/registry.conf\n",
    );
    l.env.write(
        "conf/more/registry.conf",
        &format!("flake-registry = {reg} # the team's\n"),
    );
    l.env
        .set_env("NIX_USER_CONF_FILES", &l.env.p("conf/nix.conf"));
    let plain = run(l.env.nix_cmd().args(["eval", "--raw", "chain#says"]));
    assert_eq!(plain.ok(), "PUBLIC-foo");
    assert_eq!(l.says(&["chain#says"]), "private-foo");
}

#[test]
fn a_user_registry_with_an_entry_nix_cannot_read_still_chains() {
    let Some(l) = Leak::new() else { return };
    // nix keeps the entries before the one it cannot read.
    registry(
        &l.env,
        "home/.config/nix/registry.json",
        &[
            ("myfoo", indirect("foo")),
            ("broken", json!({"type": "github"})),
        ],
    );
    let plain = run(l.env.nix_cmd().args(["eval", "--raw", "myfoo#says"]));
    assert_eq!(plain.ok(), "PUBLIC-foo");
    assert_eq!(l.says(&["myfoo#says"]), "private-foo");
}

#[test]
fn a_layer_s_target_left_to_nix_chains_to_the_private_flake() {
    let Some(l) = Leak::new() else { return };
    // Layer R maps `alias` to `flake:zzz`, an id no layer holds; nix's
    // public registry maps `zzz` to `flake:foo`.
    let mut reg: serde_json::Value =
        serde_json::from_str(&l.env.read("public-registry.json")).unwrap();
    reg["flakes"]
        .as_array_mut()
        .unwrap()
        .push(json!({"from": indirect("zzz"), "to": indirect("foo")}));
    l.env.write("public-registry.json", &reg.to_string());
    let r = registry(&l.env, "layers/r.json", &[("alias", indirect("zzz"))]);
    l.env.config(json!({"layers": [
        {"name": "R", "registry": r},
        {"name": "PKGS", "dir": l.env.p("layers/pkgs")},
    ]}));
    assert_eq!(l.says(&["alias#says"]), "private-foo");
    // As an input too.
    flake(
        &l.env,
        "mine/a",
        r#"inputs.a.url = "alias";"#,
        ", a",
        r#""a+" + a.says"#,
    );
    let a = l.env.p("mine/a");
    assert_eq!(l.says(&[&format!("{a}#says")]), "a+private-foo");
}

#[test]
fn a_search_path_entry_naming_a_private_id_is_overridden() {
    // Run by the stub: `flake:` in the search path is nix 2.10+. Every
    // place nix takes its search path from: `-I`, the `nix-path` and
    // `extra-nix-path` settings as flags, options, NIX_CONFIG and nix.conf,
    // and NIX_PATH.
    let mut env = Env::new();
    env.stub_nix();
    env.flake("flakes/foo");
    env.dir_layers(&[("PKGS", "flakes")]);
    let foo = env.p("flakes/foo");
    let overridden = |env: &Env, args: &[&str]| {
        let r = env.nixp(args);
        assert_eq!(r.ok(), "stub-nix\n", "{args:?}");
        let argv = env.nix_argv();
        assert!(
            argv.windows(3)
                .any(|w| w == ["--override-flake", "flake:foo", foo.as_str()]),
            "{args:?}: {argv:?}"
        );
    };
    for flag in [
        &["-I", "x=flake:foo"][..],
        &["--nix-path", "a=/x y=flake:foo"],
        &["--extra-nix-path", "y=flake:foo"],
        &["--option", "nix-path", "y=flake:foo a=/x"],
        &["--option", "extra-nix-path", "y=flake:foo"],
    ] {
        overridden(&env, &[&["eval"], flag, &["--expr", "<y>"]].concat());
    }
    env.set_env("NIX_PATH", "nixpkgs=/x:y=flake:foo");
    overridden(&env, &["eval", "--expr", "<y>"]);
    env.set_env("NIX_PATH", "");
    env.set_env("NIX_CONFIG", "nix-path = a=/x y=flake:foo");
    overridden(&env, &["eval", "--expr", "<y>"]);
    env.set_env("NIX_CONFIG", "");
    env.write(
        "home/.config/nix/nix.conf",
        "extra-nix-path = y=flake:foo # mine\n",
    );
    overridden(&env, &["eval", "--expr", "<y>"]);
}

#[test]
fn completion_reads_the_whole_line_as_nixp_would_run_it() {
    let Some(l) = Leak::new() else { return };
    // `--inputs-from foo`: nix reads foo's inputs while it completes.
    with_foo(&l.env, "mine/u", "u");
    let u = l.env.p("mine/u");
    let before = l.snapshot();
    let r = run(l.env.cmd().env("NIX_GET_COMPLETIONS", "4").args([
        "eval",
        "--inputs-from",
        "app",
        &format!("{u}#"),
    ]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(r.stdout.contains(&format!("{u}#says")), "{r:#?}");
    assert_eq!(l.snapshot(), before, "completion wrote into a layer");
    l.locked_privately("mine/u/flake.lock");
}

#[test]
fn a_first_run_that_is_a_completion_leaves_the_layer_s_flake_whole() {
    let Some(l) = Leak::new() else { return };
    let r = run(l
        .env
        .cmd()
        .env("NIX_GET_COMPLETIONS", "2")
        .args(["eval", "PKGS#"]));
    assert_eq!(r.code, 0, "{r:#?}");
    for member in ["app", "bar", "foo"] {
        assert!(r.stdout.contains(&format!("PKGS#{member}")), "{r:#?}");
    }
    let r = l.env.nixp(&["eval", "--raw", "PKGS#app.name"]);
    assert_eq!(r.ok(), "pkg-app+private-foo");
    assert!(!r.stderr.contains("left out"), "{r:#?}");
}

#[test]
fn a_flake_a_layer_points_to_gets_no_lock_written() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    // A registry layer's target, and a local collection's member, named by
    // their paths: they are the layers' flakes, read, never locked.
    with_foo(env, "layers/claims/acme-x", "acme");
    let acme = env.p("layers/claims/acme-x");
    assert_eq!(l.says(&[&format!("{acme}#says")]), "acme+private-foo");
    assert_eq!(l.says(&["acme-x#says"]), "acme+private-foo");
    with_foo(env, "layers/coll/beta", "beta");
    env.git("layers/coll", &["init", "-q", "-b", "main"]);
    env.git("layers/coll", &["add", "-A"]);
    env.git("layers/coll", &["commit", "-qm", "beta"]);
    let source = format!("git+file://{}", env.p("layers/coll"));
    env.config(json!({"layers": [
        {"name": "G", "collection": source},
        {"name": "PKGS", "dir": env.p("layers/pkgs")},
    ]}));
    let beta = env.p("layers/coll/beta");
    assert_eq!(l.says(&[&format!("{beta}#says")]), "beta+private-foo");
    assert!(!env.path("layers/coll/beta/flake.lock").exists());
}

#[test]
fn a_layer_flake_s_lock_changed_by_plain_nix_is_made_again() {
    let Some(l) = Leak::new() else { return };
    assert_eq!(l.says(&["PKGS#app.name"]), "pkg-app+private-foo");
    let dir = l.env.nixp(&["resolve", "PKGS"]).ok().trim().to_string();
    let dir = dir.strip_prefix("path:").unwrap_or(&dir).to_string();
    assert!(
        std::path::Path::new(&dir).join("flake.lock").is_file(),
        "{dir}"
    );
    // Plain nix relocks it from its registries: the look-alike.
    let r = run(l.env.nix_cmd().args(flake_update_of(&dir)));
    assert_eq!(r.code, 0, "{r:#?}");
    let lock = std::fs::read_to_string(format!("{dir}/flake.lock")).unwrap();
    assert!(lock.contains("public/foo"), "{lock}");
    assert_eq!(l.says(&["PKGS#app.name"]), "pkg-app+private-foo");
}
