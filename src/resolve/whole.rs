//! A layer's own name where nix expects a flake: the whole layer as one
//! generated flake (`layer::flake`). The stack gathers the members, each
//! resolved by the same rule as `LAYER.id`, and hands them over.

use super::{Depth, Error, Outcome, Reached, Stack, Step, Verdict};
use crate::flake::reference::Position;
use crate::layer::LayerKind;
use crate::layer::flake::Member;
use crate::layer::target::Target;
use std::path::Path;

impl Stack {
    /// The generated flake of layer `i`, as a concrete reference.
    pub(super) fn whole_layer(&self, i: usize, trace: &mut Vec<Step>) -> Result<Reached, Error> {
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
        let members = self.members(i);
        self.state.generating.borrow_mut().retain(|&g| g != i);
        let members = members?;
        let nix = self.nix.get().map_err(Error::LayerFlake)?;
        let provides = self.prober()?;
        let dir = crate::layer::flake::ensure(&layer.name, members, cache, nix, &*provides)
            .map_err(Error::LayerFlake)?;
        trace.push(Step {
            reference: layer.name.clone(),
            layer: layer.name.clone(),
            kind: layer.source.kind(),
            verdict: Verdict::Won,
            detail: format!("the whole layer as one flake: {}", dir.display()),
        });
        Ok(Reached {
            base: format!("path:{}", dir.display()),
            target: Target::Dir(dir),
            dir: None,
            layer: Some(i),
            outcome: Outcome::Layer(layer.source.kind()),
        })
    }

    /// The members of layer `i`: each id it lists, the reference nix
    /// fetches it by, and the overrides of its private inputs (nix reads,
    /// shows and locks every member with them). A member that cannot be
    /// resolved, or whose inputs cannot be kept private, is left out, named.
    fn members(&self, i: usize) -> Result<Vec<Member>, Error> {
        let layer = &self.layers[i];
        let listing = layer
            .source
            .list()
            .map_err(|u| Error::LayerFlake(u.message))?;
        let mut members = vec![];
        for id in listing.ids() {
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
                let overrides = self.input_overrides_of(&flake, &|_| false, None)?;
                Ok((url, dir, overrides))
            });
            match member {
                Ok((url, dir, overrides)) => members.push(Member {
                    id: id.to_string(),
                    url,
                    dir,
                    overrides,
                }),
                Err(e) => crate::message::warning(format_args!(
                    "layer '{}': member '{id}' left out of the layer's flake: {e}",
                    layer.name
                )),
            }
        }
        Ok(members)
    }
}
