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
    env.dir_layers(&[("PKGS", "flakes")]);
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
    env.dir_layers(&[("PKGS", "flakes")]);
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
    env.dir_layers(&[("E", "empty"), ("B", "broken")]);
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
    env.dir_layers(&[("P", "p"), ("P-x", "px")]);
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
    env.dir_layers(&[("PKGS", "flakes")]);
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
    let out = env.nixp(&["profile", "upgrade", "--profile", &profile, upgrade_all()]);
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
    env.dir_layers(&[("A", "a"), ("B", "b")]);
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

/// A server on 127.0.0.1 that accepts connections and never answers; it counts them.
struct Silent {
    port: u16,
    accepted: std::sync::Arc<std::sync::atomic::AtomicUsize>,
    _listener: std::net::TcpListener,
}

impl Silent {
    fn start() -> Silent {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let l = listener.try_clone().unwrap();
        let accepted = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
        let count = accepted.clone();
        std::thread::spawn(move || {
            let mut held = vec![];
            for c in l.incoming().flatten() {
                count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                held.push(c);
            }
        });
        Silent {
            port,
            accepted,
            _listener: listener,
        }
    }

    fn accepted(&self) -> usize {
        self.accepted.load(std::sync::atomic::Ordering::SeqCst)
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
    assert_eq!(server.accepted(), 0);
    // Asked: the fetch is stopped at the timeout, and the layer cannot
    // answer (no cache).
    let t = Instant::now();
    let r = env.nixp(&["resolve", "foo"]);
    let waited = t.elapsed();
    assert!(
        r.fails_with(1).contains("did not finish within 2 s"),
        "{r:#?}"
    );
    assert!(server.accepted() > 0);
    eprintln!("eval --expr 1: {quick:?}; resolve through the silent server: {waited:?}");
}

/// A stub nix whose fetches hang, after starting a process that would
/// hang too; its pid is written to `grandchild`.
fn hanging_nix(env: &Env) {
    let pid = env.p("grandchild");
    let script = format!(
        "#!/bin/sh\ncase \"$1\" in __dump-*) exit 1;; esac\nsleep 600 &\necho $! > '{pid}'\nwait\n"
    );
    let p = env.write("bin/nix", &script);
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&p, std::fs::Permissions::from_mode(0o755)).unwrap();
}

/// Whether process `pid` is gone (or a zombie awaiting its reaper).
fn gone(pid: &str) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Err(_) => true,
        Ok(stat) => stat
            .rsplit_once(')')
            .is_some_and(|(_, r)| r.trim_start().starts_with('Z')),
    }
}

#[test]
fn a_call_stopped_at_its_timeout_leaves_no_process_behind() {
    let mut env = Env::new();
    hanging_nix(&env);
    env.config(
        json!({"layers": [{"name": "C", "collection": "https://example.invalid/c.tar.gz"}]}),
    );
    env.set_env("NIXP_TIMEOUT", "1");
    let r = env.nixp(&["resolve", "foo"]);
    assert!(
        r.fails_with(1).contains("did not finish within 1 s"),
        "{r:#?}"
    );
    let pid = env.read("grandchild").trim().to_string();
    // SIGKILL is sent before nixp returns; the reaper may take a moment.
    let mut dead = false;
    for _ in 0..100 {
        dead = gone(&pid);
        if dead {
            break;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(dead, "process {pid} that nix started outlived nixp");
}

#[test]
fn timeouts_out_of_range_are_capped_or_refused() {
    let mut env = Env::new();
    env.stub_nix();
    env.config(json!({"layers": [{"name": "C", "collection": "https://example.invalid/c.tar.gz"}], "timeout": 1e20}));
    // The stub answers at once: a timeout longer than any clock holds.
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(r.ok(), "foo\n");
    for t in ["1e20", "inf", "1e400"] {
        env.nixp(&["layers", "refresh", "C"]).ok();
        let r = run(env.cmd().env("NIXP_TIMEOUT", t).args(["resolve", "foo"]));
        assert_eq!(r.ok(), "foo\n", "{t}");
    }
    for t in ["abc", "0", "-1", "nan"] {
        let r = run(env.cmd().env("NIXP_TIMEOUT", t).args(["resolve", "foo"]));
        assert!(
            r.fails_with(3).contains(&format!(
                "NIXP_TIMEOUT must be a positive number of seconds, not '{t}'"
            )),
            "{r:#?}"
        );
    }
    env.set_env("NIXP_TIMEOUT", "0");
    env.config(json!({"layers": [], "timeout": 0}));
    let r = run(env
        .cmd()
        .env_remove("NIXP_TIMEOUT")
        .args(["resolve", "foo"]));
    assert!(
        r.fails_with(3)
            .contains("'timeout' must be a positive number of seconds, not 0"),
        "{r:#?}"
    );
}

/// Makes `repo` (holding what it holds) a git repository on `main`.
fn git_repo(env: &Env) -> String {
    env.git("repo", &["init", "-q", "-b", "main"]);
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "first"]);
    format!("git+file://{}", env.p("repo"))
}

#[test]
fn a_collection_on_this_machine_is_read_as_it_is_now() {
    let Some(env) = real_nix_env() else { return };
    env.flake("repo/alpha");
    let repo = git_repo(&env);
    for source in [repo.clone(), format!("{repo}?ref=main")] {
        env.config(json!({"layers": [{"name": "C", "collection": source}]}));
        assert!(env.nixp(&["resolve", "alpha"]).ok().contains("dir=alpha"));
    }
    // A member committed since: found, through either source.
    env.flake("repo/beta");
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "beta"]);
    for source in [repo.clone(), format!("{repo}?ref=main")] {
        env.config(json!({"layers": [{"name": "C", "collection": source}]}));
        let r = env.nixp(&["resolve", "beta"]);
        assert!(r.ok().contains("dir=beta"), "{source}: {r:#?}");
    }
    // A member on a branch made after it was asked for and missing: found.
    assert_eq!(env.nixp(&["resolve", "gamma/dev"]).ok(), "gamma/dev\n");
    env.git("repo", &["checkout", "-qb", "dev"]);
    env.flake("repo/gamma");
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "gamma"]);
    env.git("repo", &["checkout", "-q", "main"]);
    let r = env.nixp(&["resolve", "gamma/dev"]);
    assert_eq!(r.ok(), format!("{repo}?dir=gamma&ref=dev\n"));
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
    // A symlinked member: the directory it points to, resolved and listed.
    assert_eq!(
        env.nixp(&["resolve", "linked"]).ok(),
        format!("{}\n", env.p("real/checkout"))
    );
    let listed = env.nixp(&["list", "--json", "linked"]).json();
    assert_eq!(listed["ids"][0]["reference"], env.p("real/checkout"));
    env.nixp(&["export", "-o", &env.p("exported.json")]).ok();
    assert!(
        env.read("exported.json").contains(&env.p("real/checkout")),
        "{}",
        env.read("exported.json")
    );
    // A symlink to a directory that holds no flake: the layer's, and an
    // error wherever it is asked for.
    std::fs::create_dir_all(env.path("real/docs")).unwrap();
    std::os::unix::fs::symlink(env.path("real/docs"), env.path("flakes/docs")).unwrap();
    let why = format!(
        "is a symlink to '{}', a directory without a flake.nix",
        env.p("real/docs")
    );
    assert!(env.nixp(&["resolve", "docs"]).fails_with(1).contains(&why));
    let listed = env.nixp(&["list", "--json", "docs"]).json();
    assert!(
        listed["ids"][0]["error"].as_str().unwrap().contains(&why),
        "{listed}"
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
    env.dir_layers(&[("PKGS", "flakes")]);
    env.stub_nix();
    // export -o into a directory that does not exist: nothing created.
    let r = env.nixp(&["export", "-o", &env.p("missing/dir/x.json")]);
    assert!(r.fails_with(4).contains("directory"), "{r:#?}");
    assert!(!env.path("missing").exists());
    // A killed `layers add` left a temporary file: the next edit clears it,
    // and only it (another file's may be being written).
    env.write("home/.config/nixp/.nixp-config.json-Xy12.tmp", "half");
    env.write("home/.config/nixp/.nixp-export.json-Ab34.tmp", "other");
    env.flake("more/baz");
    env.nixp(&["layers", "add", "M", &env.p("more")]).ok();
    assert!(
        !env.path("home/.config/nixp/.nixp-config.json-Xy12.tmp")
            .exists()
    );
    assert!(
        env.path("home/.config/nixp/.nixp-export.json-Ab34.tmp")
            .exists()
    );
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
