//! `nixp layers [--json]`, `nixp layers add ...`, `nixp layers remove NAME`.

use crate::cli::{AddArgs, LayersAction, LayersArgs};
use crate::config::edit::{self, Place};
use crate::config::{Config, infer_source_kind, is_flake_url};
use crate::exit::{self, coded};
use crate::layer::{Layer, LayerKind, Status};
use crate::nix::Lazy;
use anyhow::Result;
use serde_json::{Value, json};
use std::io::Write;
use std::sync::Arc;

pub(crate) fn run(config: &Config, args: LayersArgs, out: &mut impl Write) -> Result<u8> {
    match args.action {
        None => show(config, args.json, out),
        Some(LayersAction::Add(a)) => add(config, a),
        Some(LayersAction::Remove { name }) => {
            edit::remove(&config.paths, &name)?;
            crate::message::text(&format!(
                "removed layer '{name}' from '{}'\n",
                config.paths.user_file()?.display()
            ));
            Ok(exit::OK)
        }
        Some(LayersAction::Refresh { name }) => refresh(config, name.as_deref()),
    }
}

/// Fetches remote layers again; exit 1 when one fails (its cache stays).
fn refresh(config: &Config, name: Option<&str>) -> Result<u8> {
    let nix = Arc::new(Lazy::new(&config.nix_settings()));
    if let Some(n) = name
        && !config.layers.iter().any(|l| l.name == n)
    {
        return Err(coded(exit::USAGE, format!("there is no layer '{n}'")));
    }
    let mut code = exit::OK;
    let chosen: Vec<_> = config
        .layers
        .iter()
        .filter(|l| name.is_none_or(|n| n == l.name))
        .collect();
    let status = crate::progress::start(format!("refreshing {} layers", chosen.len()));
    for (done, spec) in chosen.iter().enumerate() {
        status.set(format!("refreshing layers: {done}/{} done", chosen.len()));
        let layer = Layer::new(spec, config.paths.cache.as_deref(), &nix);
        let Some(remote) = layer.source.remote() else {
            if name.is_some() {
                return Err(coded(
                    exit::USAGE,
                    format!(
                        "layer '{}' is not remote: there is nothing to fetch",
                        spec.name
                    ),
                ));
            }
            continue;
        };
        match remote.refresh() {
            Ok(()) => crate::message::text(&format!("refreshed layer '{}'\n", spec.name)),
            Err(e) => {
                crate::message::error(format_args!("layer '{}': cannot refresh: {e}", spec.name));
                code = exit::RESOLVE;
            }
        }
    }
    Ok(code)
}

struct Row {
    name: String,
    kind: LayerKind,
    source: String,
    origin: String,
    flakes: Option<usize>,
    status: Status,
    error: Option<String>,
    claims: Vec<String>,
    explicit: bool,
    optional: bool,
    /// A remote layer's cache: its age in seconds, and the last failed fetch.
    cache: Option<crate::layer::CacheInfo>,
}

fn survey(layer: &Layer) -> Row {
    let (flakes, status, error) = match layer.source.list() {
        Ok(l) => (Some(l.len()), Status::Ok, None),
        Err(u) => (None, u.status, Some(u.message)),
    };
    Row {
        name: layer.name.clone(),
        kind: layer.source.kind(),
        source: layer.source.location(),
        origin: layer.origin.clone(),
        flakes,
        status,
        error,
        claims: layer.claims.patterns().to_vec(),
        explicit: layer.explicit,
        optional: layer.optional,
        cache: layer.source.remote().map(|r| r.cache_info()),
    }
}

fn show(config: &Config, json: bool, out: &mut impl Write) -> Result<u8> {
    let nix = Arc::new(Lazy::new(&config.nix_settings()));
    let rows: Vec<Row> = config
        .layers
        .iter()
        .map(|s| survey(&Layer::new(s, config.paths.cache.as_deref(), &nix)))
        .collect();
    if json {
        let layers: Vec<Value> = rows
            .iter()
            .map(|r| {
                json!({
                    "name": r.name,
                    "kind": r.kind.as_str(),
                    "source": r.source,
                    "origin": r.origin,
                    "flakes": r.flakes,
                    "status": r.status.as_str(),
                    "error": r.error,
                    "ids": r.claims,
                    "explicit": r.explicit,
                    "optional": r.optional,
                    "cache_age": r.cache.as_ref().and_then(|c| c.age),
                    "last_error": r.cache.as_ref().and_then(|c| c.last_error.clone()),
                })
            })
            .collect();
        super::write_json(out, &json!({"layers": layers, "fallback": config.fallback}))?;
        return Ok(exit::OK);
    }
    if rows.is_empty() {
        super::say_empty(config);
        return Ok(exit::OK);
    }
    let mut table = vec![
        vec!["NAME", "KIND", "FLAKES", "STATUS", "SOURCE"]
            .into_iter()
            .map(String::from)
            .collect::<Vec<_>>(),
    ];
    for r in &rows {
        table.push(vec![
            r.name.clone(),
            r.kind.to_string(),
            r.flakes.map_or("-".into(), |n| n.to_string()),
            match &r.cache {
                Some(c) => {
                    let age = c.age.map_or("never fetched".into(), |a| {
                        format!("fetched {} ago", crate::cache::age_text(a))
                    });
                    let failed = if c.last_error.is_some() {
                        ", last fetch failed"
                    } else {
                        ""
                    };
                    format!("{} ({age}{failed})", r.status.as_str())
                }
                None => r.status.as_str().into(),
            } + if r.optional { ", optional" } else { "" },
            r.source.clone(),
        ]);
    }
    super::write_table(out, &table)?;
    if config.fallback {
        writeln!(out, "then nix's registries (flag > user > system > global)")?;
    } else {
        writeln!(
            out,
            "then nothing: fallback off (ids no layer holds are errors)"
        )?;
    }
    for r in &rows {
        if let Some(e) = r.cache.as_ref().and_then(|c| c.last_error.as_ref()) {
            crate::message::warning(format_args!("layer '{}': last fetch failed: {e}", r.name));
        }
        if let Some(e) = &r.error {
            let then = match r.optional {
                true => "it is optional: lookups skip it",
                false => {
                    "ids no layer above it holds stop there, with an error (mark it optional to skip it)"
                }
            };
            crate::message::warning(format_args!("layer '{}': {e}; {then}", r.name));
        }
    }
    Ok(exit::OK)
}

fn add(config: &Config, a: AddArgs) -> Result<u8> {
    let kind = match a.kind.or_else(|| infer_source_kind(&a.source)) {
        Some(kind) => kind,
        None => {
            return Err(coded(
                exit::CONFIG,
                format!(
                    "cannot infer the kind of '{}': it does not exist, and is not a URL or flake reference (pass --kind dir, --kind registry or --kind collection)",
                    a.source
                ),
            ));
        }
    };
    // URLs and flake references stay as written, but for a relative
    // `path:`; paths become absolute.
    let source = if let Some(p) = a.source.strip_prefix("path:")
        && !p.starts_with('/')
    {
        let (path, query) = p.split_once('?').map_or((p, None), |(a, b)| (a, Some(b)));
        let abs = std::path::absolute(path).map_err(|e| {
            coded(
                exit::CONFIG,
                format!("cannot make '{}' absolute: {e}", a.source),
            )
        })?;
        let query = query.map(|q| format!("?{q}")).unwrap_or_default();
        std::path::PathBuf::from(format!("path:{}{query}", abs.display()))
    } else if kind == LayerKind::Collection || is_flake_url(&a.source) {
        std::path::PathBuf::from(&a.source)
    } else {
        std::path::absolute(&a.source).map_err(|e| {
            coded(
                exit::CONFIG,
                format!("cannot make '{}' absolute: {e}", a.source),
            )
        })?
    };
    let place = match (a.first, a.before, a.after) {
        (true, _, _) => Place::First,
        (_, Some(b), _) => Place::Before(b),
        (_, _, Some(n)) => Place::After(n),
        _ => Place::Last,
    };
    let spec = edit::add(&config.paths, &a.name, &source, kind, &place)?;
    crate::message::text(&format!(
        "added layer '{}' ({} {}) to '{}'\n",
        spec.name,
        spec.kind,
        spec.source.display(),
        config.paths.user_file()?.display()
    ));
    // A local source that cannot answer now stops the ids below it: say
    // so now, not at the next lookup. (A remote one is fetched on first
    // use.)
    let local = spec.kind != LayerKind::Collection && !is_flake_url(&spec.source.to_string_lossy());
    if local {
        let nix = Arc::new(Lazy::new(&config.nix_settings()));
        let layer = Layer::new(&spec, config.paths.cache.as_deref(), &nix);
        if let Err(u) = layer.source.list() {
            crate::message::warning(format_args!(
                "layer '{}' cannot answer now: {}; ids no layer above it holds stop there until it can (or mark it optional to skip it)",
                spec.name, u.message
            ));
        }
    }
    if std::env::var_os("NIXP_LAYERS").is_some() {
        crate::message::warning(
            "NIXP_LAYERS is set: it replaces the config files' layers in this shell",
        );
    }
    Ok(exit::OK)
}
