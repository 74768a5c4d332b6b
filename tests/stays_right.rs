//! Right answers that stay right: a failure is never kept as an answer,
//! a member left out is named and tried again, generated flakes live as
//! long as something refers to them, nothing waits forever, and the
//! references nixp writes are ones nix can read.
#![allow(clippy::unwrap_used, clippy::panic, clippy::print_stderr)]
mod common;
use common::*;
use serde_json::json;
use std::time::{Duration, Instant};

fn packages(env: &Env, layer: &str) -> (Vec<String>, Run) {
    let out = env.nixp(&["flake", "show", "--json", layer]);
    let v = out.json();
    let names = v["packages"]["x86_64-linux"]
        .as_object()
        .map(|o| o.keys().cloned().collect())
        .unwrap_or_default();
    (names, out)
}

#[test]
fn a_member_left_out_is_named_on_every_run_and_tried_again() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/ok", &[("default", "ok", "ok")]);
    // `late` reads a flake outside the layer that is not there yet.
    env.write(
        "flakes/late/flake.nix",
        &format!(
            "{{ inputs.dep.url = \"path:{}\"; outputs = {{ self, dep }}: {{ packages.x86_64-linux.default = dep.packages.x86_64-linux.default; }}; }}",
            env.p("outside/dep")
        ),
    );
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}]}));
    for _ in 0..2 {
        let (names, out) = packages(&env, "PKGS");
        assert_eq!(names, ["ok"], "{out:#?}");
        assert!(
            out.stderr.contains("member 'late' fails to evaluate"),
            "named on every run: {out:#?}"
        );
    }
    // Fixed outside the layer: nothing in it changed, and the next run
    // has it.
    env.real_flake("outside/dep", &[("default", "dep", "dep")]);
    let (names, out) = packages(&env, "PKGS");
    assert_eq!(names, ["late", "ok"], "{out:#?}");
    assert!(!out.stderr.contains("fails to evaluate"), "{out:#?}");
}

#[test]
fn a_member_broken_only_for_another_system_is_kept() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake_with(
        "flakes/mixed",
        &[("default", "mixed", "mixed")],
        "    packages.aarch64-darwin.default = throw \"not for this system\";",
    );
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}]}));
    let out = env.nixp(&["resolve", "PKGS"]);
    assert!(!out.stderr.contains("fails to evaluate"), "{out:#?}");
    let built = env.nixp(&["build", "--no-link", "--json", "PKGS#mixed"]);
    let path = built.out_path();
    let said = run(&mut std::process::Command::new(format!("{path}/bin/mixed")));
    assert_eq!(said.stdout, "mixed\n");
}

#[test]
fn an_empty_layer_and_one_whose_members_all_fail_are_valid_flakes() {
    let Some(env) = real_nix_env() else { return };
    std::fs::create_dir_all(env.path("empty")).unwrap();
    env.write("broken/b/flake.nix", "{ outputs = { self }: ");
    env.config(json!({"layers": [
        {"name": "E", "dir": env.p("empty")},
        {"name": "B", "dir": env.p("broken")},
    ]}));
    let (names, out) = packages(&env, "E");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(names.is_empty());
    let (names, out) = packages(&env, "B");
    assert_eq!(out.code, 0, "{out:#?}");
    assert!(names.is_empty());
    assert!(
        out.stderr.contains("member 'b' fails to evaluate"),
        "{out:#?}"
    );
}

#[test]
fn layers_whose_names_share_a_prefix_keep_their_own_flakes() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    env.real_flake("p/one", &[("default", "one", "one")]);
    env.real_flake("px/two", &[("default", "two", "two")]);
    env.config(json!({"layers": [
        {"name": "P", "dir": env.p("p")},
        {"name": "P-x", "dir": env.p("px")},
    ]}));
    env.log_nix_calls("nix-calls");
    env.nixp(&["resolve", "P-x"]).ok();
    env.nixp(&["resolve", "P"]).ok();
    let calls = env.read("nix-calls");
    // Making P's flake left P-x's alone: no nix call to make it again.
    env.nixp(&["resolve", "P-x"]).ok();
    env.nixp(&["resolve", "P"]).ok();
    assert_eq!(env.read("nix-calls"), calls);
}

#[test]
fn an_element_installed_from_a_layer_upgrades_after_the_layer_changed() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("flakes/tool", &[("default", "tool", "tool-v1")]);
    env.real_flake("mine", &[("default", "mine", "mine-v1")]);
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}]}));
    let profile = env.p("profile");
    let mine = env.p("mine");
    for r in ["PKGS#tool", mine.as_str()] {
        let out = env.nixp(&["profile", "install", "--profile", &profile, r]);
        assert_eq!(out.code, 0, "{out:#?}");
    }
    let says = |program: &str| {
        run(&mut std::process::Command::new(format!(
            "{profile}/bin/{program}"
        )))
        .stdout
    };
    assert_eq!(
        (says("tool"), says("mine")),
        ("tool-v1\n".into(), "mine-v1\n".into())
    );
    env.real_flake("flakes/tool", &[("default", "tool", "tool-v2")]);
    env.real_flake("mine", &[("default", "mine", "mine-v2")]);
    let out = env.nixp(&["profile", "upgrade", "--profile", &profile, ".*"]);
    assert_eq!(out.code, 0, "{out:#?}");
    assert_eq!(
        (says("tool"), says("mine")),
        ("tool-v2\n".into(), "mine-v2\n".into())
    );
}

#[test]
fn a_probe_whose_outputs_nix_could_not_list_once_is_asked_again() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    env.real_flake("a/foo", &[("other", "a-other", "from-a")]);
    env.real_flake("b/foo", &[("other", "b-other", "from-b")]);
    env.config(json!({"layers": [
        {"name": "A", "dir": env.p("a")},
        {"name": "B", "dir": env.p("b")},
    ]}));
    // A nix whose first listing of outputs fails, once.
    let real = real_nix().unwrap();
    let flag = env.p("failed-once");
    let wrapper = env.write(
        "flaky/nix",
        &format!(
            "#!/bin/sh\ncase \"$*\" in *'offers = if !true'*) if [ ! -e '{flag}' ]; then : > '{flag}'; echo 'error: a passing glitch' >&2; exit 1; fi;; esac\nexec '{}' \"$@\"\n",
            real.display()
        ),
    );
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&wrapper, std::fs::Permissions::from_mode(0o755)).unwrap();
    env.set_env("NIXP_NIX", &wrapper.to_string_lossy());
    let first = env.nixp(&["resolve", "foo#nope"]);
    assert!(
        first.fails_with(1).contains("a passing glitch"),
        "{first:#?}"
    );
    let second = env.nixp(&["resolve", "foo#nope"]);
    let e = second.fails_with(1);
    assert!(
        !e.contains("a passing glitch"),
        "the glitch was kept: {second:#?}"
    );
    assert!(e.contains("offers packages: other"), "{second:#?}");
}

/// A server on 127.0.0.1 that accepts connections and never answers.
struct Silent {
    port: u16,
    _listener: std::net::TcpListener,
}

impl Silent {
    fn start() -> Silent {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let l = listener.try_clone().unwrap();
        std::thread::spawn(move || {
            let mut held = vec![];
            for c in l.incoming().flatten() {
                held.push(c);
            }
        });
        Silent {
            port,
            _listener: listener,
        }
    }
}

#[test]
fn a_server_that_never_answers_holds_nothing_up_for_long() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    let server = Silent::start();
    let url = format!("http://127.0.0.1:{}/registry.json", server.port);
    env.flake("flakes/foo");
    env.config(json!({"layers": [
        {"name": "team", "registry": url},
        {"name": "PKGS", "dir": env.p("flakes")},
    ]}));
    env.set_env("NIXP_TIMEOUT", "2");
    // No flake named: the layer is never asked.
    let t = Instant::now();
    let r = env.nixp(&["eval", "--expr", "1"]);
    assert_eq!(r.ok(), "1\n");
    let quick = t.elapsed();
    assert!(quick < Duration::from_secs(2), "took {quick:?}");
    // Asked: the fetch is stopped at the timeout, and the layer cannot
    // answer (no cache).
    let t = Instant::now();
    let r = env.nixp(&["resolve", "foo"]);
    let waited = t.elapsed();
    assert!(
        r.fails_with(1).contains("did not finish within 2 s"),
        "{r:#?}"
    );
    assert!(waited < Duration::from_secs(8), "took {waited:?}");
    eprintln!("eval --expr 1: {quick:?}; resolve through the silent server: {waited:?}");
}

#[test]
fn targets_are_written_as_nix_can_read_them() {
    let env = Env::new();
    env.flake("real/checkout");
    std::fs::create_dir_all(env.path("flakes")).unwrap();
    std::os::unix::fs::symlink(env.path("real/checkout"), env.path("flakes/linked")).unwrap();
    env.flake("odd:dir/foo");
    env.flake("with space/bar");
    env.write(
        "rel.json",
        &json!({"version": 2, "flakes": [{"from": {"type": "indirect", "id": "r"}, "to": {"type": "path", "path": "relative/dir"}}]}).to_string(),
    );
    env.config(json!({"layers": [
        {"name": "S", "dir": env.p("flakes")},
        {"name": "O", "dir": env.p("odd:dir")},
        {"name": "W", "dir": env.p("with space")},
        {"name": "R", "registry": env.p("rel.json")},
    ]}));
    // A symlinked member: the directory it points to.
    assert_eq!(
        env.nixp(&["resolve", "linked"]).ok(),
        format!("{}\n", env.p("real/checkout"))
    );
    // A ':' in the path: as `path:`, which nix reads.
    assert_eq!(
        env.nixp(&["resolve", "foo"]).ok(),
        format!("path:{}\n", env.p("odd:dir/foo"))
    );
    // A space: nothing nix 2.8 reads names it.
    let r = env.nixp(&["resolve", "bar"]);
    assert!(
        r.fails_with(1)
            .contains("cannot be named on nix's command line (it contains ' ')"),
        "{r:#?}"
    );
    // A relative path in a registry: an error naming the entry.
    let r = env.nixp(&["resolve", "r"]);
    assert!(
        r.fails_with(1)
            .contains("entry 1 of 'flakes': 'to': path 'relative/dir' is not absolute"),
        "{r:#?}"
    );
}

#[test]
fn the_smaller_things_have_their_exit_codes() {
    let env = Env::new();
    env.flake("flakes/foo");
    env.config(json!({"layers": [{"name": "PKGS", "dir": env.p("flakes")}]}));
    env.stub_nix();
    // export -o into a directory that does not exist: nothing created.
    let r = env.nixp(&["export", "-o", &env.p("missing/dir/x.json")]);
    assert!(r.fails_with(4).contains("directory"), "{r:#?}");
    assert!(!env.path("missing").exists());
    // A killed `layers add` left a temporary file: the next edit clears it.
    env.write("home/.config/nixp/.nixp-Xy12.tmp", "half");
    env.flake("more/baz");
    env.nixp(&["layers", "add", "M", &env.p("more")]).ok();
    assert!(!env.path("home/.config/nixp/.nixp-Xy12.tmp").exists());
    // A NUL byte in a source.
    env.write(
        "nul.json",
        "{\"layers\": [{\"name\": \"N\", \"dir\": \"/x\\u0000y\"}]}",
    );
    let r = run(env
        .cmd()
        .env("NIXP_CONFIG", env.p("nul.json"))
        .args(["resolve", "foo"]));
    assert!(r.fails_with(3).contains("NUL byte"), "{r:#?}");
    // An unknown flag before any command.
    let r = env.nixp(&["--frobnicate", "foo"]);
    assert!(
        r.fails_with(1)
            .contains("nixp does not know the flag '--frobnicate' of nix, so"),
        "{r:#?}"
    );
    // Usage errors of `layers refresh`.
    assert_eq!(env.nixp(&["layers", "refresh", "NOPE"]).code, 2);
    assert_eq!(env.nixp(&["layers", "refresh", "PKGS"]).code, 2);
    // A NIXP_NIX that does not exist is not found (127), not unrunnable.
    let r = run(env
        .cmd()
        .env("NIXP_NIX", env.p("no/nix"))
        .args(["build", "foo"]));
    assert!(r.fails_with(127).contains("does not exist"), "{r:#?}");
}
