//! Remote layers, fetched by the real nix (offline: a git repository made
//! here, and a registry served on 127.0.0.1 by a server started here).
#![allow(clippy::unwrap_used, clippy::panic, clippy::zombie_processes)]
mod common;
use common::*;
use serde_json::json;

#[test]
fn a_git_collection_and_its_branches() {
    let Some(env) = real_nix_env() else {
        return;
    };
    env.real_flake("repo/foo", &[("MAIN_PKG", "foo-main", "from-main")]);
    env.write("repo/README", "not a flake\n");
    env.git("repo", &["init", "-q", "-b", "main"]);
    env.git("repo", &["add", "-A"]);
    env.git("repo", &["commit", "-qm", "main"]);
    env.git("repo", &["checkout", "-qb", "other-branch"]);
    env.real_flake("repo/foo", &[("MAIN_PKG", "foo-main", "from-other-branch")]);
    env.git("repo", &["commit", "-qam", "other"]);
    env.git("repo", &["checkout", "-q", "main"]);
    let source = format!("git+file://{}", env.p("repo"));
    env.config(json!({"layers": [{"name": "C", "collection": source}]}));

    let out = env.nixp(&[
        "resolve",
        "foo#MAIN_PKG",
        "foo/other-branch#MAIN_PKG",
        "README",
    ]);
    assert_eq!(
        out.ok(),
        format!("{source}?dir=foo#MAIN_PKG\n{source}?dir=foo&ref=other-branch#MAIN_PKG\nREADME\n")
    );
    for (reference, says) in [
        ("foo#MAIN_PKG", "from-main"),
        ("foo/other-branch#MAIN_PKG", "from-other-branch"),
    ] {
        let path = env
            .nixp(&["build", "--no-link", "--json", reference])
            .out_path();
        let said = run(&mut std::process::Command::new(format!(
            "{path}/bin/foo-main"
        )));
        assert_eq!(said.stdout, format!("{says}\n"), "{reference}");
    }
    let v = env.nixp(&["layers", "--json"]).json();
    assert_eq!(v["layers"][0]["kind"], "collection");
    assert_eq!(v["layers"][0]["flakes"], 1);
    assert_eq!(v["layers"][0]["last_error"], serde_json::Value::Null);
}

/// `python3 -m http.server` on 127.0.0.1, on a port it chooses itself
/// (a port chosen here and handed over could be taken in between by a
/// concurrent test), stopped when dropped.
struct Server {
    child: std::process::Child,
    port: u16,
}

impl Server {
    fn start(dir: &std::path::Path) -> Server {
        use std::io::BufRead;
        let mut child = std::process::Command::new("python3")
            .args([
                "-u",
                "-m",
                "http.server",
                "0",
                "--bind",
                "127.0.0.1",
                "--directory",
            ])
            .arg(dir)
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap();
        // "Serving HTTP on 127.0.0.1 port 41234 (http://127.0.0.1:41234/) ..."
        let mut line = String::new();
        let stdout = child.stdout.take().unwrap();
        std::io::BufReader::new(stdout)
            .read_line(&mut line)
            .unwrap();
        let port = line
            .split_whitespace()
            .skip_while(|w| *w != "port")
            .nth(1)
            .and_then(|p| p.parse().ok())
            .unwrap_or_else(|| panic!("the test server said: {line:?}"));
        Server { child, port }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn registry(to: &str) -> String {
    serde_json::to_string(&json!({"version": 2, "flakes": [
        {"from": {"type": "indirect", "id": "foo"}, "to": {"type": "path", "path": to}}]}))
    .unwrap()
}

/// `nixp resolve foo` prints `want`; on failure, with nixp's stderr (a
/// failed fetch is a warning there).
#[track_caller]
fn assert_resolves(env: &Env, want: &str) {
    let r = env.nixp(&["resolve", "foo"]);
    assert_eq!(r.ok(), want, "{r:#?}");
}

#[test]
fn a_registry_by_url_is_cached_and_survives_its_server() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    env.write("www/registry.json", &registry("/first"));
    let server = Server::start(&env.path("www"));
    let url = format!("http://127.0.0.1:{}/registry.json", server.port);
    env.config(json!({"layers": [{"name": "team", "registry": url}]}));
    assert_resolves(&env, "path:/first\n");

    // Fresh cache: an edit on the server is not seen, until `layers refresh`.
    env.write("www/registry.json", &registry("/second"));
    assert_resolves(&env, "path:/first\n");
    let r = env.nixp(&["layers", "refresh"]);
    assert_eq!(r.ok(), "");
    assert_eq!(r.stderr, "refreshed layer 'team'\n");
    assert_resolves(&env, "path:/second\n");

    // With nix's tarball-ttl at 0 every run refetches: a corrupt body keeps
    // the good cache, with a warning.
    let conf = real_nix_conf(&env.path("global-registry.json"), "tarball-ttl = 0\n");
    env.set_env("NIX_CONFIG", &conf);
    env.write("www/registry.json", "{ not json");
    let out = env.nixp(&["resolve", "foo"]);
    assert_eq!(out.ok(), "path:/second\n");
    assert!(
        out.stderr
            .starts_with("warning: layer 'team': cannot refresh"),
        "{out:#?}"
    );
    assert!(out.stderr.contains("using the copy fetched"), "{out:#?}");

    // The server gone: the stale cache is used, with a warning; `nixp
    // layers` shows the cache's age and the last error.
    drop(server);
    let out = env.nixp(&["resolve", "foo"]);
    assert_eq!(out.ok(), "path:/second\n");
    assert!(
        out.stderr.contains("cannot refresh") && out.stderr.contains("ago"),
        "{out:#?}"
    );
    let v = env.nixp(&["layers", "--json"]).json();
    assert!(v["layers"][0]["cache_age"].as_u64().is_some());
    assert!(v["layers"][0]["last_error"].as_str().is_some(), "{v}");
    let r = env.nixp(&["layers", "refresh", "team"]);
    assert_eq!(r.code, 1, "{r:#?}");
}

#[test]
fn a_remote_layer_never_fetched_stops_the_ids_below_it_unless_optional() {
    let Some(env) = real_nix_env() else {
        return;
    };
    let url = format!("http://127.0.0.1:{}/registry.json", free_port());
    env.flake("flakes/foo");
    let layers = |optional: bool| {
        json!({"layers": [
            {"name": "team", "registry": url, "optional": optional},
            {"name": "PKGS", "dir": env.p("flakes")},
        ]})
    };
    env.config(layers(false));
    let out = env.nixp(&["resolve", "foo", "other"]);
    let stderr = out.fails_with(1);
    assert_eq!(out.stdout, "");
    for id in ["foo", "other"] {
        assert!(
            stderr.contains(&format!(
                "error: cannot resolve '{id}': layer 'team' cannot answer (cannot fetch '{url}'"
            )),
            "{stderr}"
        );
    }
    env.config(layers(true));
    let out = env.nixp(&["resolve", "foo", "other"]);
    assert_eq!(out.ok(), format!("{}\nother\n", env.p("flakes/foo")));
    assert_eq!(
        out.stderr
            .matches("warning: layer 'team' (optional)")
            .count(),
        1,
        "{out:#?}"
    );
}
