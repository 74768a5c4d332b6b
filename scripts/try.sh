#!/usr/bin/env bash
# Installs what is missing (Debian's nix-bin, zsh, fish) and nixp, then runs nixp's
# main job against the example flakes: examples/run.sh.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh
scripts/install.sh
NIXP="${CARGO_HOME:-$HOME/.cargo}/bin/nixp" examples/run.sh
