#!/usr/bin/env bash
# Installs what the tests need and this machine lacks, from Debian's
# packages: nix (nix-bin), zsh and fish for the completion tests, chromium
# for the catalog's browser test, and
# each command named as an argument (a package of that name: debootstrap
# for scripts/test-trixie.sh). Needs root or sudo; says so and returns 1
# otherwise.
missing=()
for c in "$@"; do command -v "$c" > /dev/null || missing+=("$c"); done
command -v nix > /dev/null || missing+=(nix-bin)
command -v zsh > /dev/null || missing+=(zsh)
command -v fish > /dev/null || missing+=(fish)
# The catalog's browser test (tests/catalog.rs) opens the site in it.
command -v chromium > /dev/null || missing+=(chromium)
[ ${#missing[@]} = 0 ] && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo=$(command -v sudo) || { echo "note: ${missing[*]} missing, and installing needs root or sudo" >&2; exit 1; }
fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${missing[@]}"
