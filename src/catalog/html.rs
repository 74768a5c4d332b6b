//! The catalog as a static site: `index.html` (every id, with a search
//! box that filters ids, packages and descriptions as you type and reads
//! `?q=TEXT`) and `ids/ID.html` (one page per id). No server, no network,
//! no external assets: the style and the script are in each page. Laid
//! out for a phone and a desktop alike; every control has an accessible
//! name. Rendered from the same JSON as `nixp catalog --json`.

use serde_json::Value;
use std::fmt::Write;

/// The pages of the catalog: (path below the site's directory, contents).
pub(crate) fn pages(catalog: &Value) -> Vec<(String, String)> {
    let ids = catalog["ids"].as_array().cloned().unwrap_or_default();
    let mut pages = vec![("index.html".to_string(), index(catalog, &ids))];
    for id in &ids {
        let name = id["id"].as_str().unwrap_or_default();
        pages.push((format!("ids/{name}.html"), id_page(catalog, id)));
    }
    pages
}

/// Text for HTML: `&`, `<`, `>`, `"` and `'` escaped.
fn esc(text: &str) -> String {
    let mut s = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => s.push_str("&amp;"),
            '<' => s.push_str("&lt;"),
            '>' => s.push_str("&gt;"),
            '"' => s.push_str("&quot;"),
            '\'' => s.push_str("&#39;"),
            c => s.push(c),
        }
    }
    s
}

fn text<'a>(v: &'a Value, key: &str) -> &'a str {
    v[key].as_str().unwrap_or_default()
}

const STYLE: &str = r#"
:root { color-scheme: light dark; --fg: #1b1f24; --bg: #fff; --muted: #5b6470; --line: #d5dbe1; --accent: #2b5fb4; --chip: #eef2f7; --bad: #a4262c; }
@media (prefers-color-scheme: dark) { :root { --fg: #e6e9ed; --bg: #14171a; --muted: #9aa4af; --line: #2f353c; --accent: #7fa9ef; --chip: #222830; --bad: #ff8b8b; } }
* { box-sizing: border-box; }
[hidden] { display: none !important; }
body { margin: 0 auto; max-width: 64rem; padding: 1rem; font: 16px/1.5 system-ui, sans-serif; color: var(--fg); background: var(--bg); }
a { color: var(--accent); }
header p, .muted { color: var(--muted); }
h1 { font-size: 1.6rem; margin: .2rem 0; }
h2 { font-size: 1.25rem; margin-top: 2rem; border-bottom: 1px solid var(--line); }
h3 { font-size: 1.05rem; margin-bottom: .3rem; }
label { display: block; font-weight: 600; margin: 1rem 0 .3rem; }
input[type=search] { width: 100%; font-size: 1.1rem; padding: .6rem .8rem; border: 1px solid var(--line); border-radius: .5rem; background: var(--bg); color: var(--fg); }
ul.ids { list-style: none; padding: 0; }
li.id { border: 1px solid var(--line); border-radius: .6rem; padding: .8rem 1rem; margin: .7rem 0; }
li.id h2 { border: 0; margin: 0; font-size: 1.2rem; }
.badge { display: inline-block; font-size: .8rem; padding: .05rem .5rem; border-radius: 1rem; background: var(--chip); margin-left: .3rem; }
.pkg { display: inline-block; font-family: ui-monospace, monospace; font-size: .85rem; padding: .1rem .5rem; margin: .15rem; border-radius: .3rem; background: var(--chip); }
.card { border: 1px solid var(--line); border-radius: .5rem; padding: .6rem .9rem; margin: .6rem 0; }
.card h3 { margin: 0; font-family: ui-monospace, monospace; }
code, pre { font-family: ui-monospace, monospace; font-size: .9rem; }
pre { background: var(--chip); padding: .4rem .6rem; border-radius: .3rem; overflow-x: auto; margin: .25rem 0; }
dl { display: grid; grid-template-columns: max-content 1fr; gap: .2rem 1rem; margin: .4rem 0; }
dt { color: var(--muted); }
dd { margin: 0; overflow-wrap: anywhere; }
.error { color: var(--bad); white-space: pre-wrap; overflow-wrap: anywhere; }
@media (max-width: 40rem) { body { padding: .6rem; } dl { grid-template-columns: 1fr; } dt { margin-top: .3rem; } }
"#;

/// Filters the index as you type (ids, packages, descriptions; every
/// word must match), keeps `?q=` in the address so a search can be
/// linked, and reads it on load.
const SCRIPT: &str = r#"
(function () {
  var box = document.getElementById('q');
  var items = Array.prototype.slice.call(document.querySelectorAll('li.id'));
  var count = document.getElementById('count');
  function matches(text, words) {
    return words.every(function (w) { return text.indexOf(w) >= 0; });
  }
  // An id shows when every word is in its entry (its own line or any of
  // its packages); of its packages, those that hold a word its own line
  // does not (all of them when its own line holds every word).
  function apply() {
    var words = box.value.toLowerCase().split(/\s+/).filter(Boolean);
    var shown = 0;
    items.forEach(function (li) {
      var chips = Array.prototype.slice.call(li.querySelectorAll('.pkg'));
      var own = li.getAttribute('data-search');
      var rest = words.filter(function (w) { return own.indexOf(w) < 0; });
      var hits = chips.filter(function (c) {
        var t = c.getAttribute('data-search');
        return rest.some(function (w) { return t.indexOf(w) >= 0; });
      });
      var show = rest.every(function (w) {
        return hits.some(function (c) { return c.getAttribute('data-search').indexOf(w) >= 0; });
      });
      li.hidden = !show;
      chips.forEach(function (c) { c.hidden = rest.length > 0 && hits.indexOf(c) < 0; });
      if (show) shown++;
    });
    count.textContent = shown + ' of ' + items.length + (items.length === 1 ? ' id' : ' ids');
    var url = new URL(window.location.href);
    if (box.value) url.searchParams.set('q', box.value); else url.searchParams.delete('q');
    try { window.history.replaceState(null, '', url); } catch (e) {}
  }
  box.value = new URLSearchParams(window.location.search).get('q') || '';
  box.addEventListener('input', apply);
  apply();
})();
"#;

fn page(title: &str, body: &str, script: &str) -> String {
    format!(
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n<title>{}</title>\n<style>{STYLE}</style>\n</head>\n<body>\n{body}{script}</body>\n</html>\n",
        esc(title)
    )
}

/// The words a search looks in for an id (its own line) and for each of
/// its packages.
fn search_text(parts: &[&str]) -> String {
    parts.join(" ").to_lowercase()
}

fn index(catalog: &Value, ids: &[Value]) -> String {
    let mut b = String::new();
    let system = text(catalog, "system");
    let _ = write!(
        b,
        "<header>\n<h1>Flakes of this stack</h1>\n<p>Every id nixp resolves, in the order of the layers: the winning layer first, and what each offers. Use any of them with <code>nixp</code> as with <code>nix</code>. Commands are for {}.</p>\n</header>\n<main>\n<label for=\"q\">Search ids, packages and descriptions</label>\n<input type=\"search\" id=\"q\" name=\"q\" placeholder=\"e.g. render\" autocomplete=\"off\">\n<p id=\"count\" class=\"muted\" role=\"status\" aria-live=\"polite\">{} {}</p>\n<ul class=\"ids\">\n",
        esc(system),
        ids.len(),
        if ids.len() == 1 { "id" } else { "ids" }
    );
    for id in ids {
        let name = text(id, "id");
        let description = text(id, "description");
        let layer = text(id, "layer");
        let mut own = vec![name, description, layer];
        let shadows: Vec<&str> = id["shadows"]
            .as_array()
            .map(|a| a.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        own.extend(&shadows);
        let _ = write!(
            b,
            "<li class=\"id\" data-search=\"{}\">\n<h2><a href=\"ids/{}.html\">{}</a>",
            esc(&search_text(&own)),
            esc(name),
            esc(name)
        );
        if !layer.is_empty() {
            let _ = write!(b, "<span class=\"badge\">layer {}</span>", esc(layer));
        }
        if id["claimed"] == Value::Bool(true) {
            b.push_str("<span class=\"badge\">claimed</span>");
        }
        if id["explicit"] == Value::Bool(true) {
            let _ = write!(
                b,
                "<span class=\"badge\">explicit: {}</span>",
                esc(text(id, "use"))
            );
        }
        b.push_str("</h2>\n");
        if !shadows.is_empty() {
            let _ = writeln!(
                b,
                "<p class=\"muted\">shadows {}</p>",
                esc(&shadows.join(", "))
            );
        }
        if !description.is_empty() {
            let _ = writeln!(b, "<p>{}</p>", esc(description));
        }
        if let Some(e) = id["error"].as_str() {
            let _ = writeln!(b, "<p class=\"error\">error: {}</p>", esc(e));
        }
        if let Some(pkgs) = id["systems"][system]["packages"].as_object() {
            b.push_str("<div>");
            for (attr, p) in pkgs {
                let words = search_text(&[attr, text(p, "name"), text(p, "description")]);
                let _ = write!(
                    b,
                    "<span class=\"pkg\" data-search=\"{}\" title=\"{}\">{}</span>",
                    esc(&words),
                    esc(text(p, "description")),
                    esc(attr)
                );
            }
            b.push_str("</div>\n");
        }
        b.push_str("</li>\n");
    }
    b.push_str("</ul>\n</main>\n");
    page(
        "Flakes of this stack",
        &b,
        &format!("<script>{SCRIPT}</script>\n"),
    )
}

fn list_of(v: &Value) -> Vec<String> {
    v.as_array()
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

fn commands(b: &mut String, v: &Value) {
    let cmds: Vec<String> = match &v["use"] {
        Value::String(s) => vec![s.clone()],
        u => list_of(u),
    };
    for c in cmds {
        let _ = writeln!(b, "<pre><code>{}</code></pre>", esc(&c));
    }
}

fn id_page(catalog: &Value, id: &Value) -> String {
    let system = text(catalog, "system");
    let name = text(id, "id");
    let mut b = String::new();
    let _ = write!(
        b,
        "<header>\n<p><a href=\"../index.html\">All flakes</a></p>\n<h1>{}</h1>\n",
        esc(name)
    );
    if let Some(d) = id["description"].as_str() {
        let _ = writeln!(b, "<p>{}</p>", esc(d));
    }
    b.push_str("</header>\n<main>\n<dl>\n");
    let mut row = |k: &str, v: &str| {
        let _ = writeln!(b, "<dt>{}</dt><dd>{v}</dd>", esc(k));
    };
    row("used as", &format!("<code>{}</code>", esc(text(id, "use"))));
    row("layer", &esc(text(id, "layer")));
    let shadows = list_of(&id["shadows"]);
    if !shadows.is_empty() {
        row("shadows", &esc(&shadows.join(", ")));
    }
    if id["claimed"] == Value::Bool(true) {
        row("claimed", "yes: never looked up in nix's registries");
    }
    if id["explicit"] == Value::Bool(true) {
        row("explicit", "only as LAYER.id");
    }
    row(
        "resolved reference",
        &format!("<code>{}</code>", esc(text(id, "reference"))),
    );
    let inputs = list_of(&id["inputs"]);
    let private: Vec<String> = id["private_inputs"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|p| format!("{} → {}", text(p, "id"), text(p, "reference")))
                .collect()
        })
        .unwrap_or_default();
    row(
        "inputs",
        &esc(&match inputs.is_empty() {
            true => "none".to_string(),
            false => inputs.join(", "),
        }),
    );
    if !private.is_empty() {
        row("private inputs", &esc(&private.join("; ")));
    }
    b.push_str("</dl>\n");
    if let Some(e) = id["error"].as_str() {
        let _ = writeln!(b, "<p class=\"error\">error: {}</p>", esc(e));
    }
    if let Some(p) = id["partial"].as_str() {
        let _ = writeln!(b, "<p class=\"error\">Only names are shown: {}</p>", esc(p));
    }
    if let Some(systems) = id["systems"].as_object() {
        // The current system first, the others after.
        let mut order: Vec<&String> = systems.keys().collect();
        order.sort_by_key(|s| (s.as_str() != system, s.to_string()));
        for s in order {
            system_section(&mut b, s, &systems[s.as_str()], s == system);
        }
    }
    if let Some(t) = id["templates"].as_object().filter(|t| !t.is_empty()) {
        b.push_str("<h2>Templates</h2>\n");
        for (n, v) in t {
            let _ = writeln!(b, "<div class=\"card\"><h3>{}</h3>", esc(n));
            if let Some(d) = v["description"].as_str() {
                let _ = writeln!(b, "<p>{}</p>", esc(d));
            }
            commands(&mut b, v);
            b.push_str("</div>\n");
        }
    }
    if let Some(o) = id["other"].as_object().filter(|o| !o.is_empty()) {
        b.push_str("<h2>Other outputs</h2>\n<dl>\n");
        for (kind, v) in o {
            let shown = match v {
                Value::Array(_) => list_of(v).join(", "),
                v => match v["count"].as_u64() {
                    Some(n) => format!("{n} attributes"),
                    None => String::new(),
                },
            };
            let _ = writeln!(b, "<dt>{}</dt><dd>{}</dd>", esc(kind), esc(&shown));
        }
        b.push_str("</dl>\n");
    }
    b.push_str("</main>\n");
    page(&format!("{name} — flakes of this stack"), &b, "")
}

fn system_section(b: &mut String, system: &str, outputs: &Value, current: bool) {
    let _ = writeln!(
        b,
        "<h2>{}{}</h2>",
        esc(system),
        if current { " (this system)" } else { "" }
    );
    if let Some(pkgs) = outputs["packages"].as_object() {
        if !pkgs.is_empty() {
            b.push_str("<h3>Packages</h3>\n");
        }
        for (attr, p) in pkgs {
            let _ = writeln!(b, "<div class=\"card\"><h3>{}</h3>", esc(attr));
            if p.is_null() {
                b.push_str("<p class=\"error\">nix cannot evaluate it</p>\n</div>\n");
                continue;
            }
            let _ = writeln!(b, "<dl>");
            for (k, label) in [
                ("name", "name"),
                ("version", "version"),
                ("description", "description"),
                ("mainProgram", "main program"),
            ] {
                if let Some(v) = p[k].as_str() {
                    let _ = writeln!(b, "<dt>{label}</dt><dd>{}</dd>", esc(v));
                }
            }
            let licenses = list_of(&p["license"]);
            if !licenses.is_empty() {
                let _ = writeln!(b, "<dt>license</dt><dd>{}</dd>", esc(&licenses.join(", ")));
            }
            b.push_str("</dl>\n");
            if current {
                commands(b, p);
            }
            b.push_str("</div>\n");
        }
    }
    if let Some(n) = outputs["legacyPackages"]["count"].as_u64() {
        let _ = writeln!(b, "<p>legacyPackages: {n} attributes</p>");
    }
    for (kind, title) in [
        ("legacyPackages", "legacyPackages"),
        ("bundlers", "bundlers"),
        ("also", "also"),
    ] {
        let names = list_of(&outputs[kind]);
        if !names.is_empty() {
            let _ = writeln!(b, "<p>{title}: {}</p>", esc(&names.join(", ")));
        }
    }
    for (kind, title) in [("apps", "Apps"), ("devShells", "Dev shells")] {
        let items = outputs[kind].as_array().cloned().unwrap_or_default();
        if items.is_empty() {
            continue;
        }
        let _ = writeln!(b, "<h3>{title}</h3>");
        for item in &items {
            let _ = writeln!(
                b,
                "<div class=\"card\"><h3>{}</h3>",
                esc(text(item, "name"))
            );
            if current {
                commands(b, item);
            }
            b.push_str("</div>\n");
        }
    }
    let checks = list_of(&outputs["checks"]);
    if !checks.is_empty() {
        let _ = writeln!(b, "<p>checks: {}</p>", esc(&checks.join(", ")));
    }
    if outputs["formatter"] == Value::Bool(true) {
        b.push_str("<p>formatter</p>\n");
    }
}

#[cfg(test)]
mod tests {
    use super::esc;

    #[test]
    fn html_is_escaped() {
        assert_eq!(
            esc("<a href=\"x\">'&'</a>"),
            "&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;"
        );
    }
}
