#!/usr/bin/env bash
# Writes man/nixp.1 again from the CLI definition and the README's
# Environment, Files and Exit codes tables (tests/manpage.rs fails while
# the committed page is stale).
set -euo pipefail
cd "$(dirname "$0")/.."
NIXP_WRITE_MAN=1 cargo test --quiet --test manpage
echo "wrote man/nixp.1"
