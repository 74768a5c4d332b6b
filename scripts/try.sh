#!/usr/bin/env bash
# Installs nix (Debian's nix-bin, when missing) and nixp, then runs nixp's
# main job against the example flakes: examples/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/need-nix.sh
scripts/install.sh
NIXP="${CARGO_HOME:-$HOME/.cargo}/bin/nixp" examples/run.sh
