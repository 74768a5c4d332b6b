#!/usr/bin/env bash
# Benchmarks nixp's own cost with hyperfine (apt-get install hyperfine gcc).
# Timings are measured here, never asserted in tests.
#
#   scripts/bench.sh resolve   # issue 2: 20 dir layers x 10,000 flakes
#   scripts/bench.sh dropin    # issue 3: nixp in front of a nix that exits at once
#   scripts/bench.sh complete  # issue 7: answering id completion
#   scripts/bench.sh remote    # issue 5: a cached remote layer against a dir layer;
#                              # a git+file collection against nix's own fetch
#   scripts/bench.sh layerflake # issue 8: a whole layer as one flake, cold and warm
#   scripts/bench.sh outputs   # issue 4: output-aware choice among 2 and 8 holders
#   scripts/bench.sh registry  # issue 16: list/export/resolve over 10k-100k-entry
#                              # registry layers, beside nix reading the same file
#   scripts/bench.sh choice    # issue 16: the output-aware choice between two heavy
#                              # holders, cold and warm, beside plain nix eval
#   scripts/bench.sh members   # issue 16: one member of a 5,000-member layer, cold,
#                              # warm and after another changed; flake show of it
#   scripts/bench.sh catalog   # issue 19: nixp catalog of 200 flakes, cold and warm,
#                              # beside nix evaluating each flake's packages in turn
#   scripts/bench.sh           # all
#
# Set LAYERS / FLAKES to change the size of the resolve benchmark.
set -euo pipefail
cd "$(dirname "$0")/.."
# Built the way scripts/install.sh installs it (static on *-linux-gnu).
host=$(rustc -vV | sed -n 's/^host: //p')
case $host in
  *-linux-gnu) RUSTFLAGS="${RUSTFLAGS:-} -C target-feature=+crt-static -C relocation-model=static" cargo build --release --locked --quiet --target "$host"
               NIXP=$PWD/target/$host/release/nixp ;;
  *) cargo build --release --locked --quiet; NIXP=$PWD/target/release/nixp ;;
esac
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
export HOME=$work/home XDG_CONFIG_HOME=$work/home/.config XDG_CACHE_HOME=$work/home/.cache
export NIXP_SYSTEM_CONFIG=$work/no-system-config.json
unset NIXP_CONFIG NIXP_LAYERS NIXP_NIX
mkdir -p "$HOME"
# hf NAME COMMAND...: hyperfine without a shell, then each command's median
# and its difference from the first command's median.
hf() {
  local name=$1; shift
  hyperfine -N --warmup "${WARMUP:-50}" --min-runs "${RUNS:-1000}" --style basic --export-json "$work/$name.json" "$@" > /dev/null 2>&1
  python3 - "$work/$name.json" <<'PY'
import json, sys
results = json.load(open(sys.argv[1]))["results"]
base = results[0]["median"]
for r in results:
    print(f"  median {r['median'] * 1000:7.3f} ms  (+{(r['median'] - base) * 1000:6.3f} ms)  {r['command']}")
PY
}

# side NAME NIX-COMMAND NIXP-COMMAND: both with hyperfine, then their
# medians side by side and nixp's as a multiple of nix's. PREPARE, when
# set, runs before each timing (a cache removed, a file touched), and
# LABEL says what state nixp ran in.
side() {
  local name=$1; shift
  local prepare=()
  [ -n "${PREPARE:-}" ] && prepare=(--prepare "$PREPARE")
  hyperfine -N --warmup "${WARMUP:-1}" --min-runs "${RUNS:-5}" --style basic --export-json "$work/$name.json" \
    "${prepare[@]}" "$@" > /dev/null 2>&1
  python3 - "$work/$name.json" "${LABEL:-}" <<'PY'
import json, sys
nix, nixp = json.load(open(sys.argv[1]))["results"]
label = f" ({sys.argv[2]})" if sys.argv[2] else ""
print(f"  nix  {nix['median'] * 1000:9.1f} ms  {nix['command']}")
print(f"  nixp {nixp['median'] * 1000:9.1f} ms  {nixp['command']}{label}  ({nixp['median'] / nix['median']:.2f}x nix)")
PY
}

# make_flakes DIR N NAME TEXT: N flakes in DIR, each NAME/flake.nix holding
# TEXT; `%(i)d` (and `%(i)05d`, ...) in NAME and TEXT is the flake's number.
make_flakes() {
  python3 -c '
import os, sys
for i in range(int(sys.argv[2])):
    d = os.path.join(sys.argv[1], sys.argv[3] % {"i": i})
    os.makedirs(d)
    with open(os.path.join(d, "flake.nix"), "w") as f:
        f.write(sys.argv[4] % {"i": i} + "\n")
' "$@"
}

bench_resolve() {
  local layers=${LAYERS:-20} flakes=${FLAKES:-10000}
  echo "== making $layers dir layers of $flakes flakes each"
  local spec=()
  for ((l = 1; l <= layers; l++)); do
    local d=$work/layers/l$l
    mkdir -p "$d"
    (cd "$d" && seq -f "f${l}x%g" 1 "$flakes" | xargs mkdir && for f in f${l}x*; do : > "$f/flake.nix"; done)
    spec+=("{\"name\": \"L$l\", \"dir\": \"$d\"}")
  done
  mkdir -p "$XDG_CONFIG_HOME/nixp"
  (IFS=,; echo "{\"layers\": [${spec[*]}]}") > "$XDG_CONFIG_HOME/nixp/config.json"
  local last="f${layers}x$((flakes / 2))#pkg"
  echo "== nixp resolve: an id only the last layer holds ($last), an id no layer holds"
  hf resolve "/bin/true" "$NIXP resolve $last" "$NIXP resolve nosuchid#pkg"
  echo "== nixp list over $((layers * flakes)) ids"
  WARMUP=1 RUNS=10 hf list "$NIXP list"
  /usr/bin/time -f "nixp list peak RSS: %M KiB" "$NIXP" list > /dev/null
  /usr/bin/time -f "nixp resolve peak RSS: %M KiB" "$NIXP" resolve "$last" > /dev/null
  rm -rf "$work/layers" "$XDG_CONFIG_HOME/nixp/config.json"
}

# A nix that exits at once, and answers the schema dump from the real
# nix's: $work/bin/nix.
make_stub() {
  nix __dump-args > "$work/dump.json" 2> /dev/null
  cat > "$work/stub.c" <<'C'
#include <stdio.h>
#include <string.h>
int main(int argc, char **argv) {
    if (argc > 1 && strncmp(argv[1], "__dump-", 7) == 0) {
        if (strcmp(argv[1], "__dump-args") != 0) return 1;
        FILE *f = fopen(DUMP, "r");
        char buf[65536]; size_t n;
        while (f && (n = fread(buf, 1, sizeof buf, f)) > 0) fwrite(buf, 1, n, stdout);
        return 0;
    }
    return 0;
}
C
  mkdir -p "$work/bin"
  gcc -O2 -DDUMP="\"$work/dump.json\"" -o "$work/bin/nix" "$work/stub.c"
}

bench_dropin() {
  command -v nix > /dev/null || { echo "the dropin benchmark needs the real nix for its schema dump" >&2; exit 1; }
  echo "== a stub nix that exits at once (and answers the schema dump from a file)"
  make_stub
  mkdir -p "$work/flakes/foo" && echo "{ outputs = _: { }; }" > "$work/flakes/foo/flake.nix"
  mkdir -p "$XDG_CONFIG_HOME/nixp"
  echo "{\"layers\": [{\"name\": \"PKGS\", \"dir\": \"$work/flakes\"}]}" > "$XDG_CONFIG_HOME/nixp/config.json"
  # nix's global registry as nix keeps it once downloaded: 40 entries, the
  # size of the real one (nixp reads it, for chains to private ids).
  mkdir -p "$XDG_CACHE_HOME/nix"
  python3 -c '
import json, sys
flakes = [{"from": {"type": "indirect", "id": f"id{i}"}, "to": {"type": "github", "owner": "o", "repo": f"r{i}"}} for i in range(39)]
flakes.append({"from": {"type": "indirect", "id": "nixpkgs"}, "to": {"type": "github", "owner": "NixOS", "repo": "nixpkgs", "ref": "nixpkgs-unstable"}})
json.dump({"version": 2, "flakes": flakes}, open(sys.argv[1], "w"))' "$XDG_CACHE_HOME/nix/flake-registry.json"
  export PATH=$work/bin:$PATH
  "$NIXP" build foo#x > /dev/null   # fills the schema cache
  ls "$XDG_CACHE_HOME/nixp"
  hf dropin "$work/bin/nix build --impure nixpkgs#hello" \
     "$NIXP build --impure nixpkgs#hello" \
     "$NIXP build --impure foo#hello"
  /usr/bin/time -f "nixp (private ref, schema cached) peak RSS: %M KiB" "$NIXP" build foo#x
}

bench_complete() {
  command -v nix > /dev/null || { echo "the complete benchmark needs the real nix" >&2; exit 1; }
  echo "== id completion (NIX_GET_COMPLETIONS) over the example flakes, schema cached"
  export NIXP_LAYERS="PKGS=$PWD/examples/flakes"
  NIX_GET_COMPLETIONS=3 "$NIXP" profile install he > /dev/null   # fills the schema cache
  NIX_GET_COMPLETIONS=3 hf complete /bin/true "$NIXP profile install he" "$NIXP flake show PKGS.bl"
  unset NIXP_LAYERS
}

# The real nix as root, offline: no daemon, no substituters, no global
# registry to download.
offline_nix() {
  echo '{"flakes": [], "version": 2}' > "$work/empty-registry.json"
  export NIX_CONFIG="experimental-features = nix-command flakes
sandbox = false
build-users-group =
substituters =
flake-registry = $work/empty-registry.json"
}

bench_remote() {
  command -v nix > /dev/null || { echo "the remote benchmark needs the real nix" >&2; exit 1; }
  command -v git > /dev/null || { echo "the remote benchmark needs git" >&2; exit 1; }
  offline_nix
  mkdir -p "$work/repo" "$work/serve"
  for i in $(seq 1 100); do mkdir -p "$work/repo/f$i" && echo '{ outputs = { self }: { }; }' > "$work/repo/f$i/flake.nix"; done
  git -C "$work/repo" init -q && git -C "$work/repo" add -A
  git -C "$work/repo" -c user.email=b@e -c user.name=b commit -qm flakes
  tar -C "$work" -czf "$work/serve/c.tar.gz" repo
  # A server on a port it picks itself, which it writes down.
  python3 -c '
import functools, http.server, sys
h = functools.partial(http.server.SimpleHTTPRequestHandler, directory=sys.argv[1])
s = http.server.HTTPServer(("127.0.0.1", 0), h)
open(sys.argv[2], "w").write(str(s.server_port))
s.serve_forever()' "$work/serve" "$work/port" > /dev/null 2>&1 &
  local server=$!
  trap 'kill '"$server"' 2> /dev/null; rm -rf "$work"' EXIT
  for _ in $(seq 1 100); do [ -s "$work/port" ] && break; sleep 0.1; done
  [ -s "$work/port" ] || { echo "the benchmark's HTTP server did not start" >&2; exit 1; }
  mkdir -p "$XDG_CONFIG_HOME/nixp"
  local config=$XDG_CONFIG_HOME/nixp/config.json
  echo "== warm resolution through a cached remote collection (a tarball over HTTP) vs a dir layer (100 flakes each)"
  echo "{\"layers\": [{\"name\": \"C\", \"collection\": \"http://127.0.0.1:$(cat "$work/port")/c.tar.gz\"}]}" > "$config"
  NIXP_CONFIG=$config "$NIXP" layers refresh
  hf remote "env NIXP_LAYERS=D=$work/repo $NIXP resolve f50#x" "env $NIXP resolve f50#x"
  echo "== a collection on this machine (git+file), read anew on every run as nix reads it, vs nix's own fetch of it"
  echo "{\"layers\": [{\"name\": \"C\", \"collection\": \"git+file://$work/repo\"}]}" > "$config"
  WARMUP=3 RUNS=30 hf local-collection "nix flake prefetch --json git+file://$work/repo" "$NIXP resolve f50#x"
  kill "$server"
  trap 'rm -rf "$work"' EXIT
  rm -f "$config"
  unset NIX_CONFIG
}

bench_layerflake() {
  command -v nix > /dev/null || { echo "the layerflake benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  for n in 10 50; do
    rm -rf "$work/members" "$XDG_CACHE_HOME/nixp/layers"
    for i in $(seq 1 "$n"); do
      mkdir -p "$work/members/m$i"
      printf '{ outputs = { self }: { packages.x86_64-linux.default = derivation { name = "m%s"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }; }; }\n' "$i" > "$work/members/m$i/flake.nix"
    done
    export NIXP_LAYERS="PKGS=$work/members"
    start=$(date +%s%N)
    "$NIXP" resolve PKGS > /dev/null
    echo "== cold generation of the flake of a $n-member layer: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  done
  echo "== warm nixp flake show PKGS (50 members), nixp's share: against the stub nix alone"
  make_stub
  PATH=$work/bin:$PATH NIXP_NIX=$work/bin/nix "$NIXP" flake show PKGS > /dev/null   # fills the schema cache
  gen=$("$NIXP" resolve PKGS)
  PATH=$work/bin:$PATH hf layerflake "$work/bin/nix flake show $gen" "$NIXP flake show PKGS"
  unset NIXP_LAYERS NIX_CONFIG
}

bench_outputs() {
  command -v nix > /dev/null || { echo "the outputs benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  mkdir -p "$XDG_CONFIG_HOME/nixp"
  for n in 2 8; do
    # n layers hold foo; only the last one's provides MAIN_PKG, so every
    # candidate is probed.
    rm -rf "$work/holders"
    local spec=()
    for ((i = 1; i <= n; i++)); do
      mkdir -p "$work/holders/l$i/foo"
      local pkg=other
      ((i == n)) && pkg=MAIN_PKG
      printf '{ outputs = { self }: { packages.x86_64-linux.%s = derivation { name = "p%s"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }; }; }\n' "$pkg" "$i" > "$work/holders/l$i/foo/flake.nix"
      spec+=("{\"name\": \"L$i\", \"dir\": \"$work/holders/l$i\"}")
    done
    (IFS=,; echo "{\"layers\": [${spec[*]}]}") > "$XDG_CONFIG_HOME/nixp/config.json"
    "$NIXP" resolve --for flake foo > /dev/null   # nothing to probe; warms the disk
    local times=()
    for run in 1 2 3 4 5; do
      rm -rf "$XDG_CACHE_HOME/nixp/outputs"
      local start=$(date +%s%N)
      "$NIXP" resolve foo#MAIN_PKG > /dev/null
      times+=($(( ($(date +%s%N) - start) / 1000000 )))
    done
    echo "== cold output-aware resolution, $n holders, each probed by nix concurrently: ${times[*]} ms (5 runs)"
  done
  echo "== warm output-aware resolution among 8 holders (answers cached)"
  hf outputs /bin/true "$NIXP resolve foo#MAIN_PKG"
  echo "== warm drop-in among 8 holders: nixp in front of a nix that exits at once"
  make_stub
  "$NIXP" resolve foo#MAIN_PKG > /dev/null
  NIXP_NIX=$work/bin/nix "$NIXP" build foo#MAIN_PKG   # fills the stub's schema cache
  NIXP_NIX=$work/bin/nix hf outputs-dropin "$work/bin/nix build $work/holders/l8/foo#MAIN_PKG" "$NIXP build foo#MAIN_PKG"
  rm -f "$XDG_CONFIG_HOME/nixp/config.json"
  unset NIX_CONFIG
}

bench_registry() {
  command -v nix > /dev/null || { echo "the registry benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  mkdir -p "$XDG_CONFIG_HOME/nixp" "$XDG_CONFIG_HOME/nix"
  for n in ${ENTRIES:-10000 30000 100000}; do
    python3 -c '
import json, sys
n = int(sys.argv[2])
flakes = [{"from": {"type": "indirect", "id": f"p{i:06d}"}, "to": {"type": "github", "owner": "o", "repo": f"r{i}"}} for i in range(n)]
json.dump({"version": 2, "flakes": flakes}, open(sys.argv[1], "w"))' "$work/registry.json" "$n"
    echo "{\"layers\": [{\"name\": \"R\", \"registry\": \"$work/registry.json\"}]}" > "$XDG_CONFIG_HOME/nixp/config.json"
    # The plain-nix equivalent: the same file as nix's user registry.
    cp "$work/registry.json" "$XDG_CONFIG_HOME/nix/registry.json"
    echo "== a registry layer of $n entries; nix reading the same file as its user registry"
    side "registry-list-$n" "nix registry list" "$NIXP list"
    side "registry-export-$n" "nix registry list" "$NIXP export"
    side "registry-resolve-$n" "nix registry list" "$NIXP resolve p000042"
    /usr/bin/time -f "  nixp export peak RSS: %M KiB" "$NIXP" export > /dev/null
  done
  rm -f "$XDG_CONFIG_HOME/nixp/config.json" "$XDG_CONFIG_HOME/nix/registry.json"
  unset NIX_CONFIG
}

bench_choice() {
  command -v nix > /dev/null || { echo "the choice benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  mkdir -p "$XDG_CONFIG_HOME/nixp"
  # Two layers hold `slow`, each flake about 1.5 s to evaluate (its outputs
  # are behind a long fold); `provides` says which of them has `x`.
  local heavy='builtins.foldl'"'"' (a: i: a + builtins.foldl'"'"' (x: y: x + y) 0 (builtins.genList (z: z) 1000)) 0 (builtins.genList (x: x) 12000)'
  echo "{\"layers\": [{\"name\": \"A\", \"dir\": \"$work/heavy/a\"}, {\"name\": \"B\", \"dir\": \"$work/heavy/b\"}]}" > "$XDG_CONFIG_HOME/nixp/config.json"
  for provides in a b; do
    for l in a b; do
      local pkg=other
      [ "$l" = "$provides" ] && pkg=x
      mkdir -p "$work/heavy/$l/slow"
      printf '{ outputs = { self }: builtins.seq (%s) { packages.x86_64-linux.%s = derivation { name = "p-%s"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "/bin/mkdir -p $out/bin && echo exit 0 > $out/bin/p-%s && /bin/chmod +x $out/bin/p-%s" ]; }; }; }\n' "$heavy" "$pkg" "$l" "$l" "$l" > "$work/heavy/$l/slow/flake.nix"
    done
    local winner=$work/heavy/$provides/slow
    [ "$provides" = a ] && echo "== cold choice, the first holder provides x" || echo "== cold choice, only the second holder provides x"
    # Cold: nixp's answers and nix's own eval cache (which keeps missing
    # attributes, and serves `nix run`) both removed before every run.
    local cold="sh -c 'rm -rf $XDG_CACHE_HOME/nixp/outputs $XDG_CACHE_HOME/nix/eval-cache-v*'"
    PREPARE=$cold LABEL=cold side "choice-$provides" \
      "nix eval path:$winner#x.name" "$NIXP eval slow#x.name"
    echo "== warm (answers cached)"
    side "choice-warm-$provides" "nix eval path:$winner#x.name" "$NIXP eval slow#x.name"
    echo "== nix run, cold (probes, then the command)"
    PREPARE=$cold LABEL=cold side "choice-run-$provides" \
      "nix run path:$winner#x" "$NIXP run slow#x"
  done
  rm -f "$XDG_CONFIG_HOME/nixp/config.json"
  unset NIX_CONFIG
}

bench_members() {
  command -v nix > /dev/null || { echo "the members benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  local n=${MEMBERS:-5000}
  echo "== making a dir layer of $n members"
  make_flakes "$work/members" "$n" 'm%(i)05d' '{ outputs = { self }: { packages.x86_64-linux.default = derivation { name = "m%(i)05d"; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; }; }; }'
  export NIXP_LAYERS="PKGS=$work/members"
  local member=$work/members/m00007 other=$work/members/m00042
  "$NIXP" eval PKGS#m00001.name > /dev/null   # fills the schema cache (MEMBERS >= 50)
  echo "== one member: cold (its flake made), beside nix eval of the member's own flake"
  RUNS=${RUNS:-10} PREPARE="rm -rf $XDG_CACHE_HOME/nixp/layer-members" LABEL=cold side members-cold \
    "nix eval path:$member#default.name" "$NIXP eval PKGS#m00007.name"
  echo "== one member, warm"
  RUNS=${RUNS:-10} side members-warm "nix eval path:$member#default.name" "$NIXP eval PKGS#m00007.name"
  echo "== one member, after another member changed"
  RUNS=${RUNS:-10} PREPARE="touch $other/flake.nix" LABEL="another member touched" side members-touched \
    "nix eval path:$member#default.name" "$NIXP eval PKGS#m00007.name"
  local start=$(date +%s%N)
  "$NIXP" flake show PKGS > /dev/null 2>&1
  echo "== nixp flake show PKGS, the whole layer made: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  start=$(date +%s%N)
  "$NIXP" flake show PKGS > /dev/null 2>&1
  echo "== nixp flake show PKGS, warm: $(( ($(date +%s%N) - start) / 1000000 )) ms"
  unset NIXP_LAYERS NIX_CONFIG
}

bench_catalog() {
  command -v nix > /dev/null || { echo "the catalog benchmark needs the real nix" >&2; exit 1; }
  offline_nix
  local n=${CATALOG:-200}
  echo "== making a dir layer of $n flakes, two packages each"
  make_flakes "$work/catalog" "$n" 'f%(i)03d' '{ description = "flake %(i)d"; outputs = { self }: let mk = n: derivation { name = n; system = "x86_64-linux"; builder = "/bin/sh"; args = [ "-c" "echo > $out" ]; } // { version = "1.%(i)d"; meta = { description = "package " + n; mainProgram = n; }; }; in { packages.x86_64-linux = { a%(i)d = mk "a%(i)d"; b%(i)d = mk "b%(i)d"; }; devShells.x86_64-linux.default = mk "shell"; }; }'
  export NIXP_LAYERS="C=$work/catalog"
  # Plain nix's own work for the same listing: each flake's packages
  # evaluated in turn (nix eval has no cache to warm).
  local each="sh -c 'for d in $work/catalog/*; do nix eval --json path:\$d#packages.x86_64-linux --apply builtins.attrNames > /dev/null; done'"
  echo "== nixp catalog of $n flakes: cold (no answers cached), beside nix evaluating each flake's packages in turn"
  RUNS=${RUNS:-3} PREPARE="rm -rf $XDG_CACHE_HOME/nixp/outputs $work/site" LABEL=cold side catalog-cold \
    "$each" "$NIXP catalog -o $work/site"
  echo "== warm"
  RUNS=${RUNS:-5} side catalog-warm "$each" "$NIXP catalog -o $work/site"
  unset NIXP_LAYERS NIX_CONFIG
}

case "${1:-all}" in
  resolve) bench_resolve ;;
  dropin) bench_dropin ;;
  complete) bench_complete ;;
  remote) bench_remote ;;
  layerflake) bench_layerflake ;;
  outputs) bench_outputs ;;
  registry) bench_registry ;;
  choice) bench_choice ;;
  members) bench_members ;;
  catalog) bench_catalog ;;
  all) bench_resolve; bench_dropin; bench_complete; bench_remote; bench_layerflake; bench_outputs; bench_registry; bench_choice; bench_members; bench_catalog ;;
  *) echo "usage: $0 [resolve|dropin|complete|remote|layerflake|outputs|registry|choice|members|catalog]" >&2; exit 2 ;;
esac
