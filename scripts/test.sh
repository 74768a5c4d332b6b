#!/usr/bin/env bash
# Runs every test. The real-nix tests need nix: this installs Debian's
# nix-bin when nix is missing and this user can (root, or sudo); otherwise
# they are skipped with a printed reason (unless NIXP_REQUIRE_NIX=1).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/need-nix.sh || echo "note: real-nix tests will be skipped" >&2
cargo test --locked "$@"
