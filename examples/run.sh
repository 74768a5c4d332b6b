#!/usr/bin/env bash
# nixp's main job against the example flakes in this directory, hermetic:
# a throwaway HOME, nix offline, and the layers given by NIXP_LAYERS, so it
# touches neither your nix registry, nor your profile, nor your nixp config.
#
#   examples/run.sh          # uses `nixp` from PATH; NIXP=/path/to/nixp to choose
#
# Paths in the transcript are shown as <examples> and <tmp>.
set -euo pipefail
examples=$(cd "$(dirname "$0")" && pwd)
nixp=${NIXP:-nixp}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

export HOME=$tmp/home XDG_CONFIG_HOME=$tmp/home/.config XDG_CACHE_HOME=$tmp/home/.cache
export NIXP_SYSTEM_CONFIG=$tmp/no-system-config.json
export NIXP_LAYERS="PKGS=$examples/flakes:team=$examples/team-registry.json:extra=$examples/extra-flakes"
mkdir -p "$HOME"
echo '{"flakes": [], "version": 2}' > "$tmp/global-registry.json"
# nix as root on a fresh Debian (apt-get install nix-bin): no daemon, no
# build users, no substituters, no global registry download.
export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false
build-users-group =
substituters =
flake-registry = $tmp/global-registry.json"

# Paths shortened (the real nix's too); nix 2.8's colours, and the generated
# flake's name (it holds a fingerprint and a timestamp), replaced.
show() {
  sed -e "s|$examples|<examples>|g" -e "s|$tmp|<tmp>|g" -e 's/\x1b\[[0-9;]*m//g' -e 's|^/[^ ]*/nix |nix |' \
    -e 's|path:<tmp>/home/.cache/nixp/layers/\([A-Za-z0-9_-]*\)[^ ]*|<the flake of layer \1>|g'
}
# Prints the command (as `nixp ...`) and what it prints, less nix's progress
# lines, which depend on what the store already holds and on nix's version
# (2.26 lists what it will build, and what a new lock file holds), and its warnings
# about a git checkout with uncommitted changes (nix 2.8 says "dirty";
# 2.26 will not write a lock file that holds such a checkout).
step() {
  local shown=("$@")
  [ "$1" = "$nixp" ] && shown[0]=nixp
  printf '$ %s\n' "${shown[*]}" | show
  "$@" 2>&1 | { grep -v -E \
    -e "^warning: Git tree .* is dirty$" \
    -e "^warning: will not write lock file of flake .* because it has an unlocked input" \
    -e "^(building|copying path|evaluating) '" -e "omitted \(use '--legacy' to show\)" \
    -e "^th(is|ese) .*(derivations?|paths?) will be (built|fetched)" -e "^  /nix/store/" \
    -e "^warning: (creating|updating) lock file" -e "^• (Added|Updated|Removed) input" -e "^    '" -e "^  → '" \
    || true; } | show
}

step "$nixp" layers
step "$nixp" list
# A whole layer is one flake too: its members' packages by member name
# (`nixp flake show PKGS` shows them too, as each nix version draws it).
step "$nixp" eval --json PKGS#packages.x86_64-linux --apply builtins.attrNames
step "$nixp" search PKGS eevee
step "$nixp" profile install --profile "$tmp/layer-profile" PKGS#blender.cycles
step "$tmp/layer-profile/bin/cycles"
step "$nixp" resolve hello#greeter greet tools#MAIN_PKG PKGS.blender#eevee nixpkgs#hello
step "$nixp" profile install --profile "$tmp/profile" tools#MAIN_PKG
step "$tmp/profile/bin/tool"
step "$nixp" run greet -- Ann
step "$nixp" run PKGS.blender#eevee
# Two layers hold tools: the first one whose flake provides the target wins.
step "$nixp" resolve tools#MAIN_PKG tools#lint
step "$nixp" run tools#lint
step "$nixp" list --outputs hello tools
# Your own flake (copied, since nix writes its flake.lock) with the input
# hello: locked to the private hello.
cp -r "$examples/app" "$tmp/app"
step "$nixp" explain profile install --profile "$tmp/app-profile" "$tmp/app"
step "$nixp" profile install --profile "$tmp/app-profile" "$tmp/app"
step "$tmp/app-profile/bin/greeter" Bo
