#!/usr/bin/env bash
# Makes sure a nix is on PATH: installs Debian's nix-bin when it is missing
# and this user can (root, or sudo). Prints a note and returns 1 otherwise.
command -v nix > /dev/null && exit 0
sudo=""
if [ "$(id -u)" != 0 ]; then
  sudo=$(command -v sudo) || { echo "note: nix is not installed, and installing it needs root or sudo" >&2; exit 1; }
fi
$sudo apt-get update
$sudo env DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends nix-bin
