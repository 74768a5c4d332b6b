//! `nixp catalog` and `nixp search --stack` over the example stack, with
//! the real nix: the site says what `--json` says, a second catalog
//! evaluates nothing, a flake nix cannot evaluate is listed with nix's
//! error; and the site in a real headless browser (Debian's chromium):
//! the index lists every id, `?q=eevee` shows blender's eevee and hides
//! the others, the blender page shows its packages with their commands.
//! One screenshot per page is kept in `target/catalog-screenshots/`.
#![allow(clippy::unwrap_used)]
mod common;
use common::*;
use serde_json::Value;

const EXAMPLES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples");

/// The example stack (as examples/run.sh stacks it), nix logged.
fn example_stack() -> Option<Env> {
    let mut env = real_nix_env()?;
    env.set_env(
        "NIXP_LAYERS",
        &format!("PKGS={EXAMPLES}/flakes:team={EXAMPLES}/team-registry.json:extra={EXAMPLES}/extra-flakes"),
    );
    env.log_nix_calls("nix-log");
    Some(env)
}

fn evals(env: &Env) -> usize {
    let n = std::fs::read_to_string(env.path("nix-log"))
        .unwrap_or_default()
        .lines()
        .filter(|l| l.contains(" eval "))
        .count();
    let _ = std::fs::remove_file(env.path("nix-log"));
    n
}

/// Builds the catalog into `site` and returns its JSON.
fn catalog(env: &Env) -> Value {
    let r = env.nixp(&["catalog", "-o", "site", "--json"]);
    // `nixpkgs` (github:, through the team registry) cannot be fetched
    // offline: it is listed with nix's error, and the run says so.
    assert_eq!(r.code, 1, "{r:#?}");
    r.json()
}

#[test]
fn the_site_says_what_the_json_says_and_a_second_run_evaluates_nothing() {
    let Some(env) = example_stack() else { return };
    let c = catalog(&env);
    assert!(evals(&env) > 0);
    let ids: Vec<&str> = c["ids"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["blender", "greet", "hello", "nixpkgs", "tools"]);
    let by = |id: &str| {
        c["ids"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["id"] == id)
            .unwrap()
            .clone()
    };
    let blender = by("blender");
    assert_eq!(blender["layer"], "PKGS");
    assert_eq!(
        blender["description"],
        "blender: several packages and a dev shell (a stand-in, not the real Blender)"
    );
    let eevee = &blender["systems"]["x86_64-linux"]["packages"]["eevee"];
    assert_eq!(eevee["version"], "4.2");
    assert_eq!(eevee["mainProgram"], "eevee");
    assert_eq!(eevee["license"], serde_json::json!(["GPL-2.0-or-later"]));
    assert_eq!(
        eevee["use"],
        serde_json::json!([
            "nixp profile install blender#eevee",
            "nixp build blender#eevee",
            "nixp run blender#eevee"
        ])
    );
    assert_eq!(by("tools")["shadows"], serde_json::json!(["extra"]));
    assert_eq!(by("greet")["layer"], "team");
    let nixpkgs = by("nixpkgs");
    assert!(
        nixpkgs["error"]
            .as_str()
            .unwrap()
            .contains("github:NixOS/nixpkgs"),
        "{nixpkgs}"
    );

    // The pages hold what the JSON holds.
    let index = env.read("site/index.html");
    for id in c["ids"].as_array().unwrap() {
        let name = id["id"].as_str().unwrap();
        assert!(
            index.contains(&format!("href=\"ids/{name}.html\"")),
            "{name}"
        );
        if let Some(d) = id["description"].as_str() {
            assert!(index.contains(d), "{name}: {d}");
        }
        let page = env.read(&format!("site/ids/{name}.html"));
        assert!(page.contains(&format!("<h1>{name}</h1>")), "{name}");
        if let Some(pkgs) = id["systems"]["x86_64-linux"]["packages"].as_object() {
            for (attr, p) in pkgs {
                assert!(page.contains(&format!("<h3>{attr}</h3>")), "{name}#{attr}");
                for cmd in p["use"].as_array().unwrap() {
                    assert!(page.contains(cmd.as_str().unwrap()), "{name}: {cmd}");
                }
            }
        }
        if let Some(e) = id["error"].as_str() {
            assert!(page.contains("error: "), "{name}: {e}");
        }
    }

    // Warm: the same catalog, and nix evaluates nothing.
    let again = catalog(&env);
    assert_eq!(again, c);
    assert_eq!(evals(&env), 0);
    // A directory that is not a catalog is not replaced.
    env.write("mine/notes.txt", "keep me");
    let r = env.nixp(&["catalog", "-o", "mine"]);
    assert!(
        r.fails_with(4).contains("is not a catalog nixp wrote"),
        "{r:#?}"
    );
    assert_eq!(env.read("mine/notes.txt"), "keep me");
}

/// Debian's chromium, or `None` with a printed reason (a failure with
/// `NIXP_REQUIRE_BROWSER=1`, as CI sets).
fn chromium() -> Option<std::path::PathBuf> {
    let found = ["chromium", "chromium-browser", "google-chrome"]
        .iter()
        .find_map(|b| which::which(b).ok());
    if found.is_none() {
        assert!(
            std::env::var("NIXP_REQUIRE_BROWSER")
                .ok()
                .is_none_or(|v| v != "1"),
            "NIXP_REQUIRE_BROWSER=1 but no chromium on PATH"
        );
        println!("skipped: no chromium here (apt-get install chromium)");
    }
    found
}

/// What the browser made of `url` after its script ran (`--dump-dom`).
fn dom(browser: &std::path::Path, url: &str) -> String {
    let r = run(std::process::Command::new(browser).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--virtual-time-budget=3000",
        "--dump-dom",
        url,
    ]));
    assert_eq!(r.code, 0, "{r:#?}");
    r.stdout
}

fn screenshot(browser: &std::path::Path, url: &str, size: &str, file: &str) {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/target/catalog-screenshots");
    std::fs::create_dir_all(dir).unwrap();
    let r = run(std::process::Command::new(browser).args([
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--hide-scrollbars",
        "--virtual-time-budget=3000",
        &format!("--window-size={size}"),
        &format!("--screenshot={dir}/{file}"),
        url,
    ]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        std::fs::metadata(format!("{dir}/{file}")).unwrap().len() > 1000,
        "{file}"
    );
}

/// The `<li class="id">` of `id` in a dumped index, up to its end.
fn item<'a>(dom: &'a str, id: &str) -> &'a str {
    let at = dom.find(&format!("href=\"ids/{id}.html\"")).unwrap();
    let start = dom[..at].rfind("<li").unwrap();
    let end = at + dom[at..].find("</li>").unwrap();
    &dom[start..end]
}

#[test]
fn the_site_works_in_a_real_browser() {
    let Some(env) = example_stack() else { return };
    let Some(browser) = chromium() else { return };
    catalog(&env);
    let site = format!("file://{}", env.p("site"));
    let index = dom(&browser, &format!("{site}/index.html"));
    for id in ["blender", "greet", "hello", "nixpkgs", "tools"] {
        assert!(
            !item(&index, id).contains(" hidden"),
            "{id} hidden: {index}"
        );
    }
    assert!(index.contains("5 of 5 ids"), "{index}");
    // A linked search: blender's eevee shows, the other ids and blender's
    // other packages do not.
    let eevee = dom(&browser, &format!("{site}/index.html?q=eevee"));
    let blender = item(&eevee, "blender");
    assert!(blender.starts_with("<li class=\"id\""), "{blender}");
    assert!(
        !blender[..blender.find('>').unwrap()].contains("hidden"),
        "{blender}"
    );
    assert!(blender.contains(">eevee</span>"), "{blender}");
    assert!(
        blender.contains(
            "title=\"Cycles, the path-tracing renderer (pretend)\" hidden=\"\">cycles</span>"
        ),
        "{blender}"
    );
    for id in ["greet", "hello", "nixpkgs", "tools"] {
        let li = item(&eevee, id);
        assert!(
            li[..li.find('>').unwrap()].contains("hidden"),
            "{id} shown: {li}"
        );
    }
    assert!(eevee.contains("1 of 5 ids"), "{eevee}");
    // Words across an id and one of its packages.
    let both = dom(&browser, &format!("{site}/index.html?q=blender%20cycles"));
    let blender = item(&both, "blender");
    assert!(
        !blender[..blender.find('>').unwrap()].contains("hidden"),
        "{blender}"
    );
    assert!(
        blender
            .contains("title=\"EEVEE, the real-time renderer (pretend)\" hidden=\"\">eevee</span>"),
        "{blender}"
    );
    assert!(both.contains("1 of 5 ids"), "{both}");
    assert!(
        eevee.contains("value=\"eevee\"") || eevee.contains("id=\"q\""),
        "{eevee}"
    );
    // The search box has an accessible name.
    assert!(index.contains("<label for=\"q\">"), "{index}");
    // The blender page: its packages, with the commands that use them.
    let page = dom(&browser, &format!("{site}/ids/blender.html"));
    for text in [
        "<h3>cycles</h3>",
        "<h3>eevee</h3>",
        "nixp profile install blender#eevee",
        "nixp run blender#cycles",
        "nixp develop blender",
        "GPL-2.0-or-later",
    ] {
        assert!(page.contains(text), "{text}: {page}");
    }
    screenshot(
        &browser,
        &format!("{site}/index.html"),
        "1280,900",
        "index.png",
    );
    screenshot(
        &browser,
        &format!("{site}/index.html?q=eevee"),
        "1280,900",
        "index-eevee.png",
    );
    screenshot(
        &browser,
        &format!("{site}/ids/blender.html"),
        "1280,1400",
        "blender.png",
    );
    screenshot(
        &browser,
        &format!("{site}/index.html"),
        "390,844",
        "index-phone.png",
    );
    screenshot(
        &browser,
        &format!("{site}/ids/blender.html"),
        "390,844",
        "blender-phone.png",
    );
}

#[test]
fn one_search_across_the_stack() {
    let Some(env) = example_stack() else { return };
    let r = env.nixp(&["search", "--stack", "render"]);
    // nixpkgs cannot be searched offline: a warning, and exit 1.
    assert_eq!(r.code, 1, "{r:#?}");
    assert_eq!(
        r.stdout,
        "* blender#packages.x86_64-linux.cycles\n  Cycles, the path-tracing renderer (pretend)\n\n\
         * blender#packages.x86_64-linux.default\n  Cycles, the path-tracing renderer (pretend)\n\n\
         * blender#packages.x86_64-linux.eevee\n  EEVEE, the real-time renderer (pretend)\n"
    );
    assert!(
        r.stderr.contains("warning: 'nixpkgs' is not searched"),
        "{r:#?}"
    );
    let j = env.nixp(&["search", "--stack", "--json", "eevee"]).json();
    assert_eq!(j["blender#packages.x86_64-linux.eevee"]["id"], "blender");
    assert_eq!(j.as_object().unwrap().len(), 1);
    // Across layers: `greet` (team) and `hello` (PKGS) hold the greeter.
    let r = env.nixp(&["search", "--stack", "greeter"]);
    assert!(
        r.stdout.contains("* greet#packages.x86_64-linux.greeter"),
        "{r:#?}"
    );
    assert!(
        r.stdout.contains("* hello#packages.x86_64-linux.greeter"),
        "{r:#?}"
    );
    let r = env.nixp(&["search", "--stack", "no-such-thing-anywhere"]);
    assert!(
        r.fails_with(1)
            .contains("error: no results for the given search term(s)!"),
        "{r:#?}"
    );
    // `--stack` among the other words, and patterns after `--`.
    let j = env
        .nixp(&["search", "--json", "--stack", "--", "eevee"])
        .json();
    assert_eq!(j.as_object().unwrap().len(), 1, "{j}");
    let r = env.nixp(&["search", "--stack"]);
    assert!(
        r.fails_with(2).contains("needs at least one pattern"),
        "{r:#?}"
    );
    // It shadows nothing: nix itself refuses `--stack`.
    let plain = run(env.nix_cmd().args(["search", "--stack", "x"]));
    assert_ne!(plain.code, 0);
    assert!(plain.stderr.contains("--stack"), "{plain:#?}");
    // nix's own search is untouched.
    let r = env.nixp(&["search", &format!("{EXAMPLES}/flakes/blender"), "eevee"]);
    // (nix 2.8 colours the matches even in a pipe.)
    assert!(r.ok().contains("packages.x86_64-linux."), "{r:#?}");
    assert!(r.stdout.contains("eevee"), "{r:#?}");
    assert!(!r.stdout.contains("blender#"), "{r:#?}");
}

#[test]
fn claims_and_explicit_layers_are_marked_and_used_as_they_resolve() {
    let Some(env) = real_nix_env() else { return };
    env.real_flake("a/acme-tool", &[("x", "x", "from-a")]);
    env.real_flake("x/only", &[("y", "y", "from-x")]);
    env.config(serde_json::json!({"layers": [
        {"name": "A", "dir": env.p("a"), "ids": ["acme-*"]},
        {"name": "X", "dir": env.p("x"), "explicit": true},
    ]}));
    let r = env.nixp(&["catalog", "--json", "-o", "site"]);
    let c = r.json();
    assert_eq!(r.code, 0, "{r:#?}");
    let ids = c["ids"].as_array().unwrap();
    assert_eq!(ids[0]["id"], "acme-tool");
    assert_eq!(ids[0]["claimed"], true);
    assert_eq!(ids[1]["id"], "only");
    assert_eq!(ids[1]["explicit"], true);
    assert_eq!(ids[1]["use"], "X.only");
    assert_eq!(ids[1]["reference"], env.p("x/only"));
    assert_eq!(
        ids[1]["systems"]["x86_64-linux"]["packages"]["y"]["use"][0],
        "nixp profile install X.only#y"
    );
    let index = env.read("site/index.html");
    assert!(
        index.contains("<span class=\"badge\">claimed</span>"),
        "{index}"
    );
    assert!(
        index.contains("<span class=\"badge\">explicit: X.only</span>"),
        "{index}"
    );
    // The command shown works.
    assert_eq!(env.nixp(&["run", "X.only#y"]).ok(), "from-x\n");
}

#[test]
fn odd_flakes_and_odd_places() {
    let Some(mut env) = real_nix_env() else {
        return;
    };
    env.log_nix_calls("nix-log");
    // 150 packages (past the 100 whose meta is read: names only), an
    // attribute nix would split and a shell would read, legacyPackages,
    // and a package whose meta aborts (tryEval cannot catch that: the
    // whole flake is listed by name, saying why).
    env.write(
        "l/many/flake.nix",
        r#"{ outputs = { self }: let d = n: derivation { name = n; system = "x86_64-linux"; builder = "/bin/sh"; args = [ ]; }; in {
  packages.x86_64-linux = builtins.listToAttrs (builtins.genList (i: { name = "p${toString i}"; value = d "p"; }) 150);
  legacyPackages.x86_64-linux = { tool-a = d "a"; tool-b = d "b"; };
}; }"#,
    );
    env.write(
        "l/odd/flake.nix",
        r#"{ outputs = { self }: let d = n: derivation { name = n; system = "x86_64-linux"; builder = "/bin/sh"; args = [ ]; }; in {
  packages.x86_64-linux."a.b;rm -rf x" = d "odd";
  packages.x86_64-linux.bad = d "bad" // { meta.description = abort "no meta for you"; };
}; }"#,
    );
    env.config(serde_json::json!({"layers": [{"name": "L", "dir": env.p("l")}]}));
    // A place that is not a catalog is refused before anything is
    // evaluated.
    env.write("mine/notes.txt", "keep me");
    let r = env.nixp(&["catalog", "-o", "mine"]);
    assert!(
        r.fails_with(4).contains("is not a catalog nixp wrote"),
        "{r:#?}"
    );
    assert_eq!(evals(&env), 0);
    // Through a link: the directory it leads to is what is updated.
    std::fs::create_dir(env.path("real")).unwrap();
    std::os::unix::fs::symlink(env.path("real"), env.path("link")).unwrap();
    let r = env.nixp(&["catalog", "-o", "link", "--json"]);
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(
        std::fs::symlink_metadata(env.path("link"))
            .unwrap()
            .is_symlink()
    );
    assert!(env.path("real/ids/many.html").is_file());
    let c = r.json();
    let many = &c["ids"][0];
    let pkgs = many["systems"]["x86_64-linux"]["packages"]
        .as_object()
        .unwrap();
    assert_eq!(pkgs.len(), 150);
    assert!(pkgs.contains_key("p149"));
    assert_eq!(
        many["systems"]["x86_64-linux"]["legacyPackages"],
        serde_json::json!(["tool-a", "tool-b"])
    );
    let page = env.read("real/ids/many.html");
    assert!(
        page.contains("<h3>p149</h3>") && page.contains("legacyPackages: tool-a, tool-b"),
        "{page}"
    );
    let odd = &c["ids"][1];
    assert!(
        odd["partial"].as_str().unwrap().contains("no meta for you"),
        "{odd}"
    );
    let cmd = odd["systems"]["x86_64-linux"]["packages"]["a.b;rm -rf x"]["use"][1]
        .as_str()
        .unwrap();
    assert_eq!(cmd, r#"nixp build 'odd#"a.b;rm -rf x"'"#);
    // That command, pasted into a shell, builds that package.
    let r = run(env.sandboxed("sh").args([
        "-c",
        &cmd.replacen("nixp build", &format!("{NIXP} build --dry-run"), 1),
    ]));
    assert_eq!(r.code, 0, "{r:#?}");
    // Into `.` (which cannot be replaced in one step): page by page.
    std::fs::create_dir(env.path("here")).unwrap();
    let r = run(env
        .cmd()
        .current_dir(env.path("here"))
        .args(["catalog", "-o", "."]));
    assert_eq!(r.code, 0, "{r:#?}");
    assert!(env.path("here/index.html").is_file() && env.path("here/ids/odd.html").is_file());
}
