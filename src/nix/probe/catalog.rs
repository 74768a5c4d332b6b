//! What `nixp catalog` shows of a flake, asked of nix with the probe's
//! flake (the flake fetched and locked as for `nix build`) and cached
//! beside the probe's answers, under the same fingerprint: a second
//! catalog of an unchanged flake asks nix nothing.
//!
//! One `nix eval` gives the flake's description (its flake.nix's, read
//! here by nixp for a local flake, and by nix for a fetched one at the
//! root of its source), its
//! inputs' names, and for every system it has outputs for: each package's
//! name, version, description, license and main program (as its `meta`
//! says; whatever throws is left out), and the names of its apps, dev
//! shells and checks; then its templates (with their descriptions) and
//! every other output by kind.

use super::{Candidate, MAX_NAMES, Prober};
use serde_json::Value;

/// The catalog expression, applied to the flake; `@MAX@` is filled in.
const CATALOG_EXPR: &str = r#"t:
let
  o = t.outputs;
  ok = v: let r = builtins.tryEval v; in if r.success then r.value else null;
  str = v: ok (if builtins.isString v then v else null);
  isSet = v: ok (builtins.isAttrs v) == true;
  names = v: if isSet v then builtins.attrNames v else [ ];
  capped = v: let n = names v; in
    if builtins.length n > @MAX@ then { count = builtins.length n; } else n;
  licence = l: if builtins.isAttrs l then str (l.spdxId or l.shortName or l.fullName or null)
    else if builtins.isString l then l else null;
  licences = l: ok (if builtins.isList l then builtins.filter (x: x != null) (map licence l)
    else let one = licence l; in if one == null then [ ] else [ one ]);
  package = p: let m = if isSet (p.meta or null) then p.meta else { }; in
    if ok ((p.type or null) == "derivation") != true then null else {
      name = str (p.name or null);
      pname = str (p.pname or null);
      version = str (p.version or null);
      description = str (m.description or null);
      license = licences (m.license or null);
      mainProgram = str (m.mainProgram or null);
    };
  # Past @MAX@ packages (or with @META@ false), names only.
  packages = set: let n = names set; in
    builtins.listToAttrs (map (k: {
      name = k;
      value = if !@META@ || builtins.length n > @MAX@ then { } else package (ok set.${k});
    }) n);
  old = [ "defaultPackage" "defaultApp" "devShell" "defaultBundler" ];
  perSystem = [ "packages" "legacyPackages" "apps" "devShells" "checks" "formatter" "bundlers" ] ++ old;
  systems = builtins.foldl' (acc: k: acc ++ builtins.filter (s: !(builtins.elem s acc)) (names (o.${k} or null))) [ ] perSystem;
  forSystem = s: {
    packages = if isSet (o.packages.${s} or null) then packages o.packages.${s} else { };
    legacyPackages = if isSet (o.legacyPackages.${s} or null) then capped o.legacyPackages.${s} else [ ];
    apps = names (o.apps.${s} or null);
    devShells = names (o.devShells.${s} or null);
    checks = names (o.checks.${s} or null);
    formatter = isSet (o.formatter or null) && builtins.elem s (names o.formatter);
    bundlers = names (o.bundlers.${s} or null);
    # The older single outputs (`defaultPackage.SYSTEM`, ...).
    also = builtins.filter (k: builtins.elem s (names (o.${k} or null))) old;
  };
  flakeNix = t.outPath + "/flake.nix";
  description = if @DESCRIBE@ && builtins.pathExists flakeNix
    then str ((import flakeNix).description or null) else null;
  templates = if isSet (o.templates or null)
    then builtins.mapAttrs (_: v: str (v.description or null)) o.templates else { };
  other = builtins.listToAttrs (map (k: { name = k; value = capped o.${k}; })
    (builtins.filter (k: !(builtins.elem k (perSystem ++ [ "templates" "defaultTemplate" ]))) (names o)));
in {
  inherit description templates other;
  inputs = names (t.inputs or null);
  systems = builtins.listToAttrs (map (s: { name = s; value = forSystem s; }) systems);
}
"#;

/// A local flake's `description`, read from its flake.nix as written.
fn description_of(dir: &std::path::Path) -> Option<String> {
    crate::flake::local::top_bindings(dir)?
        .into_iter()
        .find_map(|(path, v)| match (path.as_slice(), v) {
            ([Some(name)], crate::flake::syntax::Value::Str(s)) if name == "description" => Some(s),
            _ => None,
        })
}

impl Prober {
    /// Each candidate's catalog entry (`None` where there is none), from
    /// the cache where it is fresh, else from nix, concurrently.
    pub fn catalog(&self, candidates: &[Option<Candidate>]) -> Vec<Option<Result<Value, String>>> {
        let mut results: Vec<Option<Result<Value, String>>> = vec![None; candidates.len()];
        let mut todo = vec![];
        for (i, c) in candidates.iter().enumerate() {
            let Some(c) = c else { continue };
            let file = self.cached(c);
            let fresh = file
                .as_ref()
                .and_then(|f| f.catalog.as_ref())
                .filter(|a| self.fresh(c, a.checked))
                .map(|a| a.found.clone());
            match fresh {
                Some(v) => results[i] = Some(Ok(v)),
                None => todo.push((i, c, file)),
            }
        }
        let expr = CATALOG_EXPR.replace("@MAX@", &MAX_NAMES.to_string());
        self.ask_each(
            todo,
            " for the catalog",
            &mut results,
            |dir, c, file, named| {
                let fingerprint = self.fingerprint(c);
                // Without the flake's own directory (a local one inside a
                // git checkout, `?dir=`), nix would read the root's flake.nix.
                let at_root = c.local.is_none() && !c.reference.contains("dir=");
                let expr = expr.replace("@DESCRIBE@", if at_root { "true" } else { "false" });
                let mut answer = self.eval::<Value>(dir, c, &expr.replace("@META@", "true"), named);
                // A package's meta that aborts (which `tryEval` cannot catch)
                // fails the whole evaluation: then the names, without meta.
                if let Err(cause) = &answer
                    && let Ok(Value::Object(mut names)) =
                        self.eval::<Value>(dir, c, &expr.replace("@META@", "false"), named)
                {
                    names.insert(
                        "partial".into(),
                        format!("packages' meta cannot be evaluated: {cause}").into(),
                    );
                    answer = Ok(Value::Object(names));
                }
                if let (Ok(Value::Object(v)), Some(local)) = (&mut answer, &c.local) {
                    v.insert("description".into(), description_of(local).into());
                }
                let value = answer?;
                self.store_catalog(c, file, fingerprint, &value);
                Ok(value)
            },
        );
        results
    }
}
