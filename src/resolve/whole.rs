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
        let members = self.members(i)?;
        let nix = self.nix.get().map_err(Error::LayerFlake)?;
        let dir = crate::layer::flake::ensure(&layer.name, members, cache, nix)
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

    /// The members of layer `i`: each id it lists and the reference nix
    /// fetches it by. A member that cannot be resolved is left out, named.
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
                let dir = Path::new(&layer.source.location()).join(id);
                Target::Dir(dir.clone())
                    .render(None)
                    .map(|url| (format!("path:{url}"), Some(dir)))
                    .map_err(Error::Target)
            } else {
                let qualified = format!("{}.{id}", layer.name);
                self.resolve(&qualified, Position::FlakeUrl, Depth::FirstHolder)
                    .result
                    .map(|r| (r.output, None))
            };
            match member {
                Ok((url, dir)) => members.push(Member {
                    id: id.to_string(),
                    url,
                    dir,
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
