//! The leak routes, in the harness of `common::leak`: nix's global
//! registry maps every private id to a look-alike that says "PUBLIC". Each
//! route by which nix could read a private id runs with the real nix
//! and must give the private flake, or be refused before nix runs; and no
//! file under a layer's directory may change.
#![allow(clippy::unwrap_used, clippy::panic)]
mod common;
use common::leak::*;
use common::*;
use serde_json::json;

#[test]
fn the_command_line_and_the_look_alikes() {
    let Some(l) = Leak::new() else { return };
    // The public registry really answers for these, without nixp.
    let public = run(l.env.nix_cmd().args(["eval", "--raw", "foo#says"]));
    assert_eq!(public.ok(), "PUBLIC-foo");
    assert_eq!(l.says(&["foo#says"]), "private-foo");
    assert_eq!(l.says(&["acme-x#says"]), "private-acme-x");
    assert_eq!(l.says(&["flake:bar#says"]), "private-bar");
}

#[test]
fn route_1_the_whole_layer_flake_and_its_members() {
    let Some(l) = Leak::new() else { return };
    let app = l.env.path("layers/pkgs/app");
    // The member app's input foo is private: through the layer's flake,
    // and through the member itself, nix gets the private foo and no
    // flake.lock is written into the layer.
    assert_eq!(l.says(&["PKGS#app.name"]), "pkg-app+private-foo");
    assert_eq!(l.says(&["app#says"]), "app+private-foo");
    assert!(!app.join("flake.lock").exists());
    let r = l.env.nixp(&["explain", "eval", "app#says"]);
    assert!(
        r.ok().contains("--no-write-lock-file"),
        "a layer's flake with inputs is read without writing its lock: {r:#?}"
    );
}

#[test]
fn route_2_inputs_given_as_attribute_sets() {
    let Some(l) = Leak::new() else { return };
    flake(
        &l.env,
        "mine/attrs",
        r#"inputs.dep = { type = "indirect"; id = "foo"; }; inputs.c.type = "indirect"; inputs.c.id = "acme-x";"#,
        ", dep, c",
        r#"dep.says + "+" + c.says"#,
    );
    let dir = l.env.p("mine/attrs");
    assert_eq!(
        l.says(&[&format!("{dir}#says")]),
        "private-foo+private-acme-x"
    );
    l.locked_privately("mine/attrs/flake.lock");
}

#[test]
fn route_3_transitive_local_inputs() {
    let Some(l) = Leak::new() else { return };
    flake(
        &l.env,
        "mine/plain",
        r#"inputs.foo.url = "foo";"#,
        ", foo",
        "foo.says",
    );
    flake(
        &l.env,
        "mine/top",
        &format!(r#"inputs.dep.url = "path:{}";"#, l.env.p("mine/plain")),
        ", dep",
        r#""top+" + dep.says"#,
    );
    let dir = l.env.p("mine/top");
    assert_eq!(l.says(&[&format!("{dir}#says")]), "top+private-foo");
    // Asked again with the lock in place: the lock holds the private one.
    assert_eq!(l.says(&[&format!("{dir}#says")]), "top+private-foo");
    assert!(!l.env.path("mine/plain/flake.lock").exists());
}

#[test]
fn route_4_flake_lock_and_update_of_a_named_flake() {
    let Some(l) = Leak::new() else { return };
    flake(
        &l.env,
        "mine/u",
        r#"inputs.foo.url = "foo";"#,
        ", foo",
        "foo.says",
    );
    let dir = l.env.p("mine/u");
    // nix 2.8 names the flake as a positional, 2.19+ as `--flake DIR`.
    let r = l.env.nixp(&flake_update_of(&dir));
    assert_eq!(r.code, 0, "{r:#?}");
    l.locked_privately("mine/u/flake.lock");
}

#[test]
fn route_5_a_layer_name_with_a_ref_is_refused() {
    let Some(l) = Leak::new() else { return };
    for word in ["PKGS/main#foo", "flake:PKGS/main", "flake:PKGS?dir=x"] {
        let r = l.env.nixp(&["eval", "--raw", word]);
        let e = r.fails_with(1);
        assert!(
            e.contains("names layer 'PKGS' with a branch, revision or subdirectory"),
            "{word}: {r:#?}"
        );
    }
}

#[test]
fn route_6_a_collection_id_only_on_a_branch() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    plain(env, "repo/alpha", "private-alpha");
    with_branch(env, "dev", || plain(env, "repo/gamma", "private-gamma"));
    let source = format!("git+file://{}", env.p("repo"));
    env.config(json!({"layers": [{"name": "G", "collection": source}]}));
    assert_eq!(l.says(&["gamma/dev#says"]), "private-gamma");
    // A branch the collection does not have is not the collection's.
    let r = env.nixp(&["resolve", "foo/nosuchbranch"]);
    assert_eq!(r.ok(), "foo/nosuchbranch\n");
}

#[test]
fn route_7_registry_pin_of_a_private_id_is_refused() {
    let Some(l) = Leak::new() else { return };
    let r = l.env.nixp(&["registry", "pin", "foo"]);
    assert!(r.fails_with(1).contains("'foo' is a private id"), "{r:#?}");
    assert!(!l.env.path("home/.config/nix/registry.json").exists());
    // With the flake to pin it to, nix asks no registry.
    let target = l.env.p("layers/pkgs/foo");
    let r = l.env.nixp(&["registry", "pin", "foo", &target]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        l.env
            .read("home/.config/nix/registry.json")
            .contains("layers/pkgs/foo")
    );
}

#[test]
fn route_8_profile_upgrade_of_an_element_installed_by_id() {
    let Some(l) = Leak::new() else { return };
    let profile = l.env.p("profile");
    // Installed by plain nix, which asked its registries: the look-alike.
    let r = run(l
        .env
        .nix_cmd()
        .args(["profile", "install", "--profile", &profile, "foo"]));
    assert_eq!(r.code, 0, "{r:#?}");
    let said = run(&mut std::process::Command::new(format!(
        "{profile}/bin/says"
    )));
    assert_eq!(said.stdout, "PUBLIC-foo\n");
    // Upgraded through nixp: the private foo.
    let r = l
        .env
        .nixp(&["profile", "upgrade", "--profile", &profile, upgrade_all()]);
    assert_eq!(r.code, 0, "{r:#?}");
    let said = run(&mut std::process::Command::new(format!(
        "{profile}/bin/says"
    )));
    assert_eq!(said.stdout, "private-foo\n");
}

#[test]
fn a_lock_that_holds_a_look_alike_is_refused() {
    let Some(l) = Leak::new() else { return };
    flake(
        &l.env,
        "mine/old",
        r#"inputs.foo.url = "foo";"#,
        ", foo",
        "foo.says",
    );
    // Locked by plain nix, which asked its registries.
    let dir = l.env.p("mine/old");
    let r = run(l.env.nix_cmd().args(["flake", "lock", &dir]));
    assert_eq!(r.code, 0, "{r:#?}");
    let r = l.env.nixp(&["eval", "--raw", &format!("{dir}#says")]);
    let e = r.fails_with(1);
    assert!(
        e.contains("locks input 'foo' ('foo') to path:") && e.contains("public/foo"),
        "{r:#?}"
    );
    // Updating the input through nixp puts the private one in the lock.
    let r = l
        .env
        .nixp(&["flake", "lock", "--update-input", "foo", &dir]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(l.says(&[&format!("{dir}#says")]), "private-foo");
}

#[test]
fn inputs_nixp_cannot_read_are_refused() {
    let Some(l) = Leak::new() else { return };
    l.env.write(
        "mine/computed/flake.nix",
        "let u = \"foo\"; in { inputs.a.url = u; outputs = { self, a }: { says = a.says; }; }\n",
    );
    let dir = l.env.p("mine/computed");
    // nix itself reads it (a variable bound to a literal) and asks its
    // registries: nixp cannot tell which id, and stops.
    let r = l.env.nixp(&["eval", "--raw", &format!("{dir}#says")]);
    assert!(
        r.fails_with(1)
            .contains("the 'url' of input 'a' is not a literal nixp can read"),
        "{r:#?}"
    );
}

// Routes found by an adversarial review -------------------------------------

#[test]
fn a_git_checkout_at_a_ref_is_read_at_that_ref() {
    let Some(l) = Leak::new() else { return };
    let repo = two_branch_repo(&l.env);
    // The working tree has no inputs; the branch nix reads has `foo`.
    assert_eq!(
        l.says(&["--no-write-lock-file", &format!("{repo}?ref=evil#says")]),
        "evil+private-foo"
    );
    flake(
        &l.env,
        "mine/top",
        &format!(r#"inputs.dep.url = "{repo}?ref=evil";"#),
        ", dep",
        r#""top+" + dep.says"#,
    );
    let top = l.env.p("mine/top");
    assert_eq!(l.says(&[&format!("{top}#says")]), "top+evil+private-foo");
}

#[test]
fn a_collection_member_with_a_private_input() {
    let Some(l) = Leak::new() else { return };
    let env = &l.env;
    // A tarball collection: its members are read from what nix fetched.
    with_foo(env, "coll/alpha", "alpha");
    let tar = run(std::process::Command::new("tar")
        .current_dir(env.root())
        .args(["czf", "coll.tar.gz", "coll"]));
    assert_eq!(tar.code, 0, "{tar:#?}");
    env.config(json!({"layers": [
        {"name": "G", "collection": format!("file://{}", env.p("coll.tar.gz"))},
        {"name": "PKGS", "dir": env.p("layers/pkgs")},
    ]}));
    // nix cannot write a lock into the store: nixp says not to.
    assert_eq!(l.says(&["alpha#says"]), "alpha+private-foo");
    assert_eq!(l.says(&["G#alpha.name"]), "pkg-alpha+private-foo");
    let r = env.nixp(&["build", "--no-link", "alpha"]);
    assert_eq!(r.code, 0, "{r:#?}");
}

#[test]
fn completion_reads_a_layer_s_flake_with_its_overrides_and_writes_nothing() {
    let Some(l) = Leak::new() else { return };
    let complete = |word: &str| {
        let r = run(l
            .env
            .cmd()
            .env("NIX_GET_COMPLETIONS", "2")
            .args(["eval", word]));
        assert_eq!(r.code, 0, "{r:#?}");
        r.stdout
    };
    let before = l.snapshot();
    let answer = complete("app#");
    assert!(answer.contains("app#packages"), "{answer}");
    assert_eq!(l.snapshot(), before, "completion wrote into a layer");
    // A flake of your own, completed: locked with the private input.
    with_foo(&l.env, "mine/u", "u");
    complete("./mine/u#");
    l.locked_privately("mine/u/flake.lock");
}

#[test]
fn a_profile_element_installed_from_a_path_upgrades_with_its_overrides() {
    let Some(l) = Leak::new() else { return };
    let profile = l.env.p("profile");
    let before = l.snapshot();
    for args in [
        vec!["profile", "install", "--profile", &profile, "app"],
        vec!["profile", "upgrade", "--profile", &profile, upgrade_all()],
    ] {
        let r = l.env.nixp(&args);
        assert_eq!(r.code, 0, "{args:?}: {r:#?}");
        let said = run(&mut std::process::Command::new(format!(
            "{profile}/bin/says"
        )));
        assert_eq!(said.stdout, "app+private-foo\n", "{args:?}");
    }
    assert_eq!(l.snapshot(), before, "a layer's directory changed");
}

#[test]
fn flake_nix_syntax_nix_reads_and_nixp_must_too() {
    let Some(l) = Leak::new() else { return };
    for (name, text) in [
        (
            "dynamic",
            "{ ${\"inputs\"} = { foo.url = \"foo\"; }; outputs = { self, foo }: { says = foo.says; }; }",
        ),
        (
            "indented",
            "{ inputs.foo.url = ''  foo''; outputs = { self, foo }: { says = foo.says; }; }",
        ),
        (
            "cr",
            "{ # c\r inputs.foo.url = \"foo\";\n outputs = { self, foo }: { says = foo.says; }; }",
        ),
    ] {
        l.env.write(&format!("mine/{name}/flake.nix"), text);
        let dir = l.env.p(&format!("mine/{name}"));
        let r = l.env.nixp(&[
            "eval",
            "--raw",
            "--no-write-lock-file",
            &format!("{dir}#says"),
        ]);
        // Read and overridden, or refused: never the look-alike.
        assert!(!r.stdout.contains("PUBLIC"), "{name}: {r:#?}");
        assert!(
            r.code == 0 || r.stderr.contains("not a literal"),
            "{name}: {r:#?}"
        );
    }
    // A path input's `dir`.
    flake(
        &l.env,
        "mine/p/sub",
        r#"inputs.foo.url = "foo";"#,
        ", foo",
        "foo.says",
    );
    plain(&l.env, "mine/p", "root");
    flake(
        &l.env,
        "mine/top",
        &format!(
            r#"inputs.d = {{ type = "path"; path = "{}"; dir = "sub"; }};"#,
            l.env.p("mine/p")
        ),
        ", d",
        "d.says",
    );
    let top = l.env.p("mine/top");
    assert_eq!(l.says(&[&format!("{top}#says")]), "private-foo");
}

#[test]
fn words_nix_versions_read_differently_are_read_both_ways() {
    let Some(l) = Leak::new() else { return };
    // (flake with the input foo, a flake beside it, the word, what nix 2.8
    // reads, what 2.26 reads): 2.8 ignores `?dir=` on a bare path and does
    // not decode `%61` in a `path:` URL; 2.26 does both. nixp keeps foo
    // private for either reading. (The changes came in versions between;
    // the tests run on these two.)
    for (with, beside, word, old, new) in [
        (
            "mine/u",
            "mine/u/sub",
            "{}?dir=sub#says",
            "u+private-foo",
            "sub",
        ),
        (
            "mine/p%61",
            "mine/pa",
            "path:{}#says",
            "p%61+private-foo",
            "pa",
        ),
    ] {
        with_foo(&l.env, with, with.rsplit('/').next().unwrap());
        plain(&l.env, beside, beside.rsplit('/').next().unwrap());
        let word = word.replace("{}", &l.env.p(with));
        let expected = if nix_version() < (2, 26) { old } else { new };
        assert_eq!(l.says(&["--no-write-lock-file", &word]), expected, "{word}");
    }
}

#[test]
fn override_flake_words_nix_does_not_read_as_flags_cancel_nothing() {
    let Some(l) = Leak::new() else { return };
    with_foo(&l.env, "mine/u", "u");
    let r = l.env.nixp(&[
        "explain",
        "run",
        "./mine/u",
        "--",
        "--override-flake",
        "foo",
        "x",
    ]);
    assert!(r.ok().contains("--override-flake foo "), "{r:#?}");
    // A user's override of `foo/v1` does not answer for `foo`.
    let bar = l.env.p("layers/pkgs/bar");
    let r = l.env.nixp(&[
        "explain",
        "eval",
        "--override-flake",
        "foo/v1",
        &bar,
        "./mine/u#says",
    ]);
    assert!(
        r.ok().contains(&format!(
            "--override-flake foo {}",
            l.env.p("layers/pkgs/foo")
        )),
        "{r:#?}"
    );
}

#[test]
fn flake_init_without_a_template_names_a_private_templates() {
    let Some(l) = Leak::new() else { return };
    l.env.write(
        "layers/pkgs/templates/flake.nix",
        "{ outputs = { self }: { templates.default = { path = ./t; description = \"private\"; }; }; }",
    );
    l.env.write(
        "layers/pkgs/templates/t/flake.nix",
        "{ outputs = _: { says = \"private-template\"; }; }",
    );
    std::fs::create_dir_all(l.env.path("new")).unwrap();
    let r = run(l
        .env
        .cmd()
        .current_dir(l.env.path("new"))
        .args(["flake", "init"]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(l.env.read("new/flake.nix").contains("private-template"));
}

#[test]
fn a_member_that_is_a_symlink_to_nothing_is_not_absent() {
    let Some(l) = Leak::new() else { return };
    std::os::unix::fs::symlink("/nonexistent/gamma", l.env.path("layers/pkgs/gamma")).unwrap();
    let r = l.env.nixp(&["eval", "--raw", "gamma#says"]);
    assert!(
        r.fails_with(1)
            .contains("is a symlink to '/nonexistent/gamma'"),
        "{r:#?}"
    );
}

#[test]
fn a_config_behind_a_symlink_to_nothing_is_an_error_not_an_empty_stack() {
    let Some(l) = Leak::new() else { return };
    let config = l.env.user_config();
    std::fs::remove_file(&config).unwrap();
    std::os::unix::fs::symlink("/nonexistent/config.json", &config).unwrap();
    let r = l.env.nixp(&["eval", "--raw", "foo#says"]);
    assert!(
        r.fails_with(3)
            .contains("is a symlink to '/nonexistent/config.json'"),
        "{r:#?}"
    );
    let r = run(l
        .env
        .cmd()
        .env("NIXP_CONFIG", l.env.p("nowhere.json"))
        .args(["eval", "--raw", "foo#says"]));
    assert!(r.fails_with(3).contains("NIXP_CONFIG names"), "{r:#?}");
}

#[test]
fn a_member_named_by_its_path_gets_no_lock_written() {
    let Some(l) = Leak::new() else { return };
    let app = l.env.p("layers/pkgs/app");
    assert_eq!(l.says(&[&format!("{app}#says")]), "app+private-foo");
    let r = run(l
        .env
        .cmd()
        .current_dir(&app)
        .args(["eval", "--raw", ".#says"]));
    assert_eq!(r.ok(), "app+private-foo");
    assert!(!l.env.path("layers/pkgs/app/flake.lock").exists());
}

#[test]
fn chains_in_nix_s_own_registries_end_at_the_private_flake() {
    let Some(l) = Leak::new() else { return };
    // The public registry: `chain` → `flake:foo`.
    let mut reg: serde_json::Value =
        serde_json::from_str(&l.env.read("public-registry.json")).unwrap();
    reg["flakes"].as_array_mut().unwrap().push(json!({
        "from": {"type": "indirect", "id": "chain"},
        "to": {"type": "indirect", "id": "foo"}
    }));
    l.env.write("public-registry.json", &reg.to_string());
    assert_eq!(l.says(&["chain#says"]), "private-foo");
    // An alias in the user's registry, made with plain nix.
    let r = run(l
        .env
        .nix_cmd()
        .args(["registry", "add", "myfoo", "flake:foo"]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert_eq!(l.says(&["myfoo#says"]), "private-foo");
    // As an input too.
    l.env.write(
        "mine/c/flake.nix",
        "{ inputs.c.url = \"chain\"; outputs = { self, c }: { says = \"c+\" + c.says; }; }",
    );
    let c = l.env.p("mine/c");
    assert_eq!(l.says(&[&format!("{c}#says")]), "c+private-foo");
    // nixp audit names the chain: plain nix would end it in its registries.
    let r = l.env.nixp(&["audit", "--json"]);
    assert_eq!(r.code, 1, "{r:#?}");
    let v = r.json();
    let chained: Vec<&str> = v["ids"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|row| row["status"] == "chained")
        .map(|row| row["id"].as_str().unwrap())
        .collect();
    assert_eq!(chained, ["myfoo", "chain"], "{v}");
}
