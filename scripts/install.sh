#!/usr/bin/env bash
# Installs nixp with cargo into ~/.cargo/bin. On *-linux-gnu it links
# statically (glibc's static-pie): a static nixp starts ~0.3 ms faster, and
# nixp runs in front of every nix command.
set -euo pipefail
cd "$(dirname "$0")/.."
host=$(rustc -vV | sed -n 's/^host: //p')
case $host in
  *-linux-gnu)
    RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static" \
      cargo install --locked --path . --target "$host" "$@" ;;
  *) cargo install --locked --path . "$@" ;;
esac
