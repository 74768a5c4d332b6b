# A `nix` that is nixp in front of the real nix: NIXP_NIX names the real
# one, so nixp never finds itself.
{
  writeShellScriptBin,
  nixp,
  nix,
}:
writeShellScriptBin "nix" ''
  export NIXP_NIX=${nix}/bin/nix
  exec ${nixp}/bin/nixp "$@"
''
