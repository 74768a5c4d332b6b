//! A layer's own name where nix expects a flake: the whole layer as one
//! generated flake (`layer::flake`). The stack gathers the members, each
//! resolved by the same rule as `LAYER.id`, and hands them over.

use super::{Depth, Error, Outcome, Reached, Stack, Step, Verdict};
use crate::flake::reference::Position;
use crate::layer::flake::Member;
use crate::layer::target::Target;
use crate::layer::{LayerKind, Listing};
use std::path::Path;

impl Stack {
    /// The generated flake of layer `i`, as a concrete reference: of the
    /// whole layer, or with `member` alone when it is one of the layer's
    /// (a reference into one member needs that member only).
    pub(super) fn whole_layer(
        &self,
        i: usize,
        member: Option<&str>,
        trace: &mut Vec<Step>,
    ) -> Result<Reached, Error> {
        let listing = self.layer_listing(i)?;
        // A member of a dir layer: one fetched from elsewhere is pinned when
        // its flake is locked, so it is read through the whole layer's
        // flake, one pin for every reference into it.
        let member = member
            .filter(|_| self.layers[i].source.kind() == LayerKind::Dir)
            .filter(|m| listing.contains(m));
        self.layer_flake(i, &listing, member, trace)
    }

    /// The generated flake of `layer` (or of its `member` alone), made anew
    /// if the layer changed since: for `nix profile upgrade` of an element
    /// installed from it, which nix reads again. A member's flake whose
    /// member has left the layer is removed.
    pub fn remake_layer_flake(&self, layer: &str, member: Option<&str>) -> Result<(), Error> {
        let i = self
            .layer_index(layer)
            .ok_or_else(|| Error::LayerFlake(format!("there is no layer '{layer}' now")))?;
        let listing = self.layer_listing(i)?;
        if let Some(m) = member.filter(|m| !listing.contains(m)) {
            // Gone from the layer: so is its flake, and nix says so for the
            // elements installed from it, not for the others.
            if let Some(cache) = self.cache.as_deref() {
                let _ = std::fs::remove_dir_all(crate::layer::flake::member_dir(cache, layer, m));
            }
            return Ok(());
        }
        self.layer_flake(i, &listing, member, &mut vec![])
            .map(|_| ())
    }

    fn layer_listing(&self, i: usize) -> Result<Listing, Error> {
        self.layers[i]
            .source
            .list()
            .map_err(|u| Error::LayerFlake(u.message))
    }

    /// The flake of layer `i` (which lists `listing`), or of its listed
    /// `member` alone, made when it changed. A member's flake is not
    /// checked first: nix gives that member's own error.
    fn layer_flake(
        &self,
        i: usize,
        listing: &Listing,
        member: Option<&str>,
        trace: &mut Vec<Step>,
    ) -> Result<Reached, Error> {
        let layer = &self.layers[i];
        let cache = self.cache.as_deref().ok_or_else(|| {
            Error::LayerFlake(
                "there is no cache directory to keep the layer's flake in (HOME is not set)".into(),
            )
        })?;
        if self.state.generating.borrow().contains(&i) {
            return Err(Error::LayerFlake(format!(
                "a member of layer '{}' has the layer's own flake as an input",
                layer.name
            )));
        }
        self.state.generating.borrow_mut().push(i);
        let members: Vec<Member> = match member {
            Some(m) => self.member(i, m).into_iter().collect(),
            None => listing.ids().filter_map(|id| self.member(i, id)).collect(),
        };
        self.state.generating.borrow_mut().retain(|&g| g != i);
        let nix = self.nix.get().map_err(Error::LayerFlake)?;
        let (dir, detail, prober) = match member {
            Some(m) => (
                crate::layer::flake::member_dir(cache, &layer.name, m),
                format!("member '{m}' of the layer as a flake of its own"),
                None,
            ),
            None => (
                crate::layer::flake::layer_dir(cache, &layer.name),
                "the whole layer as one flake".to_string(),
                Some(self.prober()?),
            ),
        };
        let dir = crate::layer::flake::ensure(&layer.name, members, &dir, nix, prober.as_deref())
            .map_err(Error::LayerFlake)?;
        trace.push(Step {
            reference: layer.name.clone(),
            layer: layer.name.clone(),
            kind: layer.source.kind(),
            verdict: Verdict::Won,
            detail: format!("{detail}: {}", dir.display()),
        });
        Ok(Reached {
            base: format!("path:{}", dir.display()),
            target: Target::Dir(dir),
            dir: None,
            layer: Some(i),
            outcome: Outcome::Layer(layer.source.kind()),
        })
    }

    /// The member `id` of layer `i`: the reference nix fetches it by, and
    /// the overrides of its private inputs (nix reads, shows and locks
    /// every member with them). A member that cannot be resolved, or whose
    /// inputs cannot be kept private, is left out (`None`), named.
    fn member(&self, i: usize, id: &str) -> Option<Member> {
        let layer = &self.layers[i];
        let member = if layer.source.kind() == LayerKind::Dir {
            // A dir layer listed the flake: no lookup is needed.
            let dir = crate::layer::member_dir(Path::new(&layer.source.location()), id);
            crate::layer::target::path_url(&dir)
                .map(|url| (url, Some(dir)))
                .map_err(Error::Target)
        } else {
            let qualified = format!("{}.{id}", layer.name);
            self.resolve(&qualified, Position::FlakeUrl, Depth::FirstHolder)
                .result
                .map(|r| (r.output, None))
        };
        let member = member.and_then(|(url, dir)| {
            let flake = match &dir {
                Some(d) => super::Flake::Dir(d.clone()),
                None => super::Flake::private(&url),
            };
            let overrides = self.input_overrides(&flake)?;
            Ok((url, dir, overrides))
        });
        match member {
            Ok((url, dir, overrides)) => Some(Member {
                id: id.to_string(),
                url,
                dir,
                overrides,
            }),
            Err(e) => {
                crate::message::warning(format_args!(
                    "layer '{}': member '{id}' left out of the layer's flake: {e}",
                    layer.name
                ));
                None
            }
        }
    }
}

/// The member a fragment of a layer's flake starts with: `blender` for
/// `blender`, `blender.cycles` and `"blender.cycles"`. nix's search finds
/// the same attribute in the flake of that member alone as in the whole
/// layer's (its outputs are the member's, under the member's name). None
/// for no fragment, one from the flake's top (`.packages...`), or one
/// whose first name is also an output's: nix's search tries a fragment
/// from the flake's top too (`PKGS#packages.x86_64-linux.foo`), which only
/// the whole layer's flake answers.
pub(super) fn member_named(fragment: &str) -> Option<String> {
    let first = match fragment.strip_prefix('"') {
        Some(quoted) => quoted.split('"').next()?,
        None if fragment.starts_with('.') => return None,
        None => fragment.split('.').next()?,
    };
    let member = first.split('.').next()?;
    (crate::flake::reference::is_flake_id(member)
        && !crate::layer::flake::OUTPUT_NAMES.contains(&member))
    .then(|| member.to_string())
}

#[cfg(test)]
mod tests {
    use super::member_named;

    #[test]
    fn the_member_a_fragment_starts_with() {
        for (fragment, member) in [
            ("blender", Some("blender")),
            ("blender.cycles", Some("blender")),
            ("\"blender.cycles\"", Some("blender")),
            ("\"blender.cycles\".meta", Some("blender")),
            ("", None),
            (".packages.x86_64-linux.blender", None),
            ("packages.x86_64-linux.blender", None),
            ("legacyPackages", None),
            ("9lives", None),
        ] {
            assert_eq!(member_named(fragment).as_deref(), member, "{fragment}");
        }
    }
}
