# The config.json nixp reads, from the settings of the NixOS and
# home-manager modules: one pure function both use (no nixpkgs needed).
# It checks what nixp's own parser checks, so a setting nixp would refuse
# fails evaluation here, naming the option:
#
#   builtins.toJSON (import ./config.nix {
#     layers = [ { name = "PKGS"; dir = "/srv/flakes"; } ];
#     fallback = true;
#   })
{
  layers ? [ ],
  fallback ? null,
  timeout ? null,
  # How the options are named in messages.
  prefix ? "programs.nixp",
}:
let
  inherit (builtins)
    attrNames
    concatStringsSep
    elem
    filter
    foldl'
    genList
    head
    isAttrs
    isBool
    isList
    isPath
    isString
    length
    match
    ;
  kinds = [
    "dir"
    "registry"
    "collection"
  ];
  known = [ "name" ] ++ kinds ++ [
    "ids"
    "explicit"
    "optional"
  ];
  isId = s: isString s && match "[a-zA-Z][a-zA-Z0-9_-]*" s != null;
  isPattern = s: isString s && match "[a-zA-Z0-9_*?-]+" s != null;
  # What nixp fetches a collection from (nixp's collection_target).
  collectionSchemes = [
    "git\\+.*"
    "github:.*"
    "gitlab:.*"
    "sourcehut:.*"
    "https://.*"
    "http://.*"
    "file://.*"
    "path:.*"
  ];
  isCollection = s: builtins.any (re: match re s != null) collectionSchemes;
  given = l: k: (l.${k} or null) != null;

  layer =
    i: l:
    let
      at = "${prefix}.layers.${toString i}";
      fail = msg: throw "${at}: ${msg}";
      sources = filter (given l) kinds;
      kind = head sources;
      raw = l.${kind};
      source = if isPath raw then toString raw else raw;
      unknown = filter (k: !elem k known) (attrNames l);
      ids = l.ids or [ ];
      badId = filter (p: !isPattern p) ids;
      flag = k: l.${k} or false;
    in
    if !isAttrs l then
      fail "a layer is an attribute set"
    else if unknown != [ ] then
      fail "unknown option '${head unknown}' (a layer has ${concatStringsSep ", " known})"
    else if !(given l "name") then
      fail "'name' is required"
    else if !isId l.name then
      fail "'${toString l.name}' is not a valid layer name (a letter, then letters, digits, '_' or '-')"
    else if length sources != 1 then
      fail "layer '${l.name}' needs exactly one source: dir, registry or collection"
    else if !isString source then
      fail "layer '${l.name}': '${kind}' is a string or a path"
    else if source == "" then
      fail "layer '${l.name}': the ${kind} source is empty"
    else if kind == "collection" && !isCollection source then
      fail "layer '${l.name}': '${source}' is not a collection source nixp knows (git+..., github:, gitlab:, sourcehut:, a tarball URL, path:)"
    else if !isList ids then
      fail "layer '${l.name}': 'ids' is a list of id patterns"
    else if badId != [ ] then
      fail "layer '${l.name}': 'ids': '${toString (head badId)}' is not an id pattern (letters, digits, '_', '-', '*' and '?')"
    else if !isBool (flag "explicit") || !isBool (flag "optional") then
      fail "layer '${l.name}': 'explicit' and 'optional' are true or false"
    else
      {
        inherit (l) name;
        ${kind} = source;
      }
      // (if ids != [ ] then { inherit ids; } else { })
      // (if flag "explicit" then { explicit = true; } else { })
      // (if flag "optional" then { optional = true; } else { });

  checked = genList (i: layer i (builtins.elemAt layers i)) (length layers);
  # Names are unique, as nixp requires.
  unique = foldl' (
    seen: l:
    if elem l.name seen then
      throw "${prefix}.layers: two layers are named '${l.name}'"
    else
      seen ++ [ l.name ]
  ) [ ] checked;
in
if !isList layers then
  throw "${prefix}.layers: a list of layers"
else if fallback != null && !isBool fallback then
  throw "${prefix}.fallback: true, false or null"
else if timeout != null && !(builtins.isInt timeout || builtins.isFloat timeout) || timeout != null && timeout <= 0 then
  throw "${prefix}.timeout: a number of seconds above 0, or null"
else
  # Checked in full before any of it is used.
  builtins.deepSeq [ checked unique ] (
    { layers = checked; }
    // (if fallback != null then { inherit fallback; } else { })
    // (if timeout != null then { inherit timeout; } else { })
  )
