//! Private ids among a local flake's inputs: the indirect references its
//! flake.lock and flake.nix name (read, not evaluated: `flake::inputs`),
//! followed into the local flakes they resolve to, each turned into an
//! `--override-flake REF TARGET` pair for nix.

use super::{Depth, Error, Stack};
use crate::flake::reference::Position;
use std::path::Path;
use std::rc::Rc;

impl Stack {
    /// The indirect references a local flake's inputs use
    /// (`flake::inputs::indirect_refs`), read once per run.
    pub fn indirect_refs(&self, flake_dir: &Path) -> Rc<[String]> {
        self.state
            .inputs
            .borrow_mut()
            .entry(flake_dir.to_path_buf())
            .or_insert_with(|| crate::flake::inputs::indirect_refs(flake_dir).into())
            .clone()
    }

    /// Whether nixp answers for an indirect input of the local flake `dir`.
    pub fn uses_private_inputs(&self, dir: &Path) -> bool {
        self.indirect_refs(dir)
            .iter()
            .any(|r| self.answers_for_input(r))
    }

    /// `--override-flake REF TARGET` for each indirect reference among a
    /// local flake's inputs (its flake.lock and flake.nix, read, not
    /// evaluated) that nixp answers for, and among those flakes' inputs in
    /// turn: nix then locks them to the layers' flakes (since nix 2.26 only
    /// the flag registry is asked for inputs). The reference keeps its
    /// ref/rev, so nix matches it exactly and carries nothing onto TARGET.
    /// References no layer holds are left to nix.
    pub fn input_overrides(&self, flake_dir: &Path) -> Result<Vec<(String, String)>, Error> {
        let mut out: Vec<(String, String)> = vec![];
        let mut seen: Vec<String> = vec![];
        let mut dirs = vec![flake_dir.to_path_buf()];
        while let Some(dir) = dirs.pop() {
            for r in self.indirect_refs(&dir).iter() {
                if seen.contains(r) || !self.answers_for_input(r) {
                    continue;
                }
                seen.push(r.clone());
                let res = self.resolve(r, Position::FlakeUrl, Depth::FirstHolder);
                let rewritten = res.rewritten();
                match res.result {
                    Err(e) => {
                        return Err(Error::Input {
                            reference: r.clone(),
                            flake: flake_dir.to_path_buf(),
                            cause: Box::new(e),
                        });
                    }
                    Ok(o) if rewritten => {
                        dirs.extend(crate::flake::local::local_flake(&o.output));
                        out.push((r.clone(), o.output));
                    }
                    Ok(_) => {}
                }
            }
        }
        Ok(out)
    }
}
