# The part of nixpkgs' lib nixp's flake and modules call, each doing the
# least that lets a test see what was asked of it (module types and
# options are recorded, not checked: a real nixpkgs checks them).
let
  inherit (builtins) listToAttrs map;
in
rec {
  genAttrs = names: f: listToAttrs (map (n: { name = n; value = f n; }) names);
  importTOML = file: builtins.fromTOML (builtins.readFile file);
  cleanSource = src: src;
  optional = cond: x: if cond then [ x ] else [ ];
  mkIf = condition: content: { _type = "if"; inherit condition content; };
  hiPrio = drv: drv // { priority = "high"; };
  mkOption = attrs: { _type = "option"; } // attrs;
  mkEnableOption = what: mkOption { type = types.bool; default = false; description = "Whether to enable ${what}."; };
  types = {
    bool = "bool";
    str = "str";
    path = "path";
    package = "package";
    strMatching = re: "strMatching ${re}";
    nullOr = t: { nullOr = t; };
    either = a: b: { either = [ a b ]; };
    listOf = t: { listOf = t; };
    submodule = m: { submodule = m; };
  };
  licenses.mit = { spdxId = "MIT"; };
  platforms.unix = [ "x86_64-linux" "aarch64-linux" "x86_64-darwin" "aarch64-darwin" ];
}
