#!/usr/bin/env bash
# Runs the whole test suite against a second real nix: Debian trixie's
# nix-bin (2.26), in a Debian trixie root made once with debootstrap and
# kept (NIXP_TRIXIE_ROOT, default ~/.cache/nixp/trixie-root). The tests and
# nixp are built here, statically, and run inside the root in a private
# mount namespace, so nothing is mounted outside it. Needs root,
# debootstrap and unshare (util-linux). Arguments go to every test binary
# (a name filter, say). NIXP_REQUIRE_NIX=1 is set: no real-nix test skips.
set -euo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd -P)

if [ "$(id -u)" != 0 ]; then
  echo "error: $0 needs root (debootstrap, chroot and mount)" >&2
  exit 1
fi
scripts/deps.sh debootstrap || { echo "error: debootstrap is missing" >&2; exit 1; }

root=${NIXP_TRIXIE_ROOT:-${XDG_CACHE_HOME:-$HOME/.cache}/nixp/trixie-root}
packages="nix-bin git ca-certificates zsh fish python3"
# The root is made once per package list, and again after 30 days (for
# trixie's updates); a half-made one is never used.
if [ "$(cat "$root/.nixp-packages" 2> /dev/null)" != "$packages" ] ||
  [ -n "$(find "$root/.nixp-packages" -mtime +30 2> /dev/null)" ]; then
  echo "making a Debian trixie root in $root (once; a minute or two)" >&2
  rm -rf "$root.tmp"
  mkdir -p "$(dirname "$root")"
  debootstrap --variant=minbase trixie "$root.tmp" > "$root.log" 2>&1 ||
    { echo "error: debootstrap failed; see $root.log" >&2; exit 1; }
  chroot "$root.tmp" sh -c "apt-get update -q && DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends $packages" >> "$root.log" 2>&1 ||
    { echo "error: installing $packages in the root failed; see $root.log" >&2; exit 1; }
  chroot "$root.tmp" apt-get clean
  echo "$packages" > "$root.tmp/.nixp-packages"
  rm -rf "$root"
  mv "$root.tmp" "$root"
fi

# Static test binaries and nixp: trixie's glibc differs from this one's.
# With --target, RUSTFLAGS reach only what runs in the root, not build
# scripts or proc macros.
host=$(rustc -vV | sed -n 's/^host: //p')
export RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static"
mapfile -t bins < <(cargo test --locked --no-run --target "$host" --message-format=json-render-diagnostics |
  sed -n 's/.*"profile":{[^}]*"test":true[^}]*}.*"executable":"\([^"]*\)".*/\1/p')
[ ${#bins[@]} -gt 0 ] || { echo "error: cargo built no test binaries" >&2; exit 1; }
target_dir=$(cargo metadata --format-version 1 --no-deps | sed -n 's/.*"target_directory":"\([^"]*\)".*/\1/p')

# Inside: /proc, /dev, /dev/pts (nix's pseudoterminals), and the repository
# and its target directory at the same paths, as the test binaries were
# built to find them. cargo runs test binaries from the package root.
exec unshare --mount --propagation private bash -c '
  set -eu
  root=$1 repo=$2 target_dir=$3; shift 3
  # The root a mount point of its own, so that tests can unshare inside.
  mount --bind "$root" "$root"
  mount --bind /proc "$root/proc"
  mount --bind /dev "$root/dev"
  mount --bind /dev/pts "$root/dev/pts"
  for d in "$repo" "$target_dir"; do
    mkdir -p "$root$d"
    mount --bind "$d" "$root$d"
  done
  echo "nix in the root: $(chroot "$root" nix --version)" >&2
  args=()
  while [ "$1" != -- ]; do args+=("$1"); shift; done
  shift
  failed=0
  for bin in "$@"; do
    echo "     Running $bin" >&2
    chroot "$root" env -i PATH=/usr/local/bin:/usr/bin:/bin HOME=/root TERM=dumb \
      NIXP_REQUIRE_NIX=1 sh -c "cd \"\$0\" && exec \"\$@\"" "$repo" "$bin" ${args[@]+"${args[@]}"} ||
      failed=1
  done
  exit $failed
' nixp-trixie "$root" "$repo" "$target_dir" "$@" -- "${bins[@]}"
