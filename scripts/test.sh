#!/usr/bin/env bash
# Runs every test. Some need nix, zsh, fish and chromium: this installs Debian's
# packages for what is missing when this user can (root, or sudo); otherwise
# they are skipped with a printed reason (unless NIXP_REQUIRE_NIX=1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/deps.sh || echo "note: tests that need nix, zsh, fish or chromium will be skipped" >&2
cargo test --locked "$@"
