# A stand-in for nixpkgs in nixp's tests (no nixpkgs can be fetched
# offline): exactly the functions nixp's flake calls, each returning a
# fake derivation that records its arguments (paths as strings), so a test
# can check what nixp asks nixpkgs to build.
{
  outputs =
    { self }:
    let
      lib = import ./lib.nix;
      plain =
        v:
        if builtins.isPath v then
          toString v
        else if builtins.isList v then
          map plain v
        else if builtins.isAttrs v && v ? recorded then
          v.name
        else if builtins.isAttrs v then
          builtins.mapAttrs (_: plain) v
        else
          v;
      fake = name: args: {
        type = "derivation";
        inherit name;
        outPath = "/nix/store/00000000000000000000000000000000-${name}";
        recorded = plain args;
      };
      pkgsFor =
        system:
        let
          pkgs = {
            inherit lib;
            stdenv.hostPlatform.system = system;
            callPackage =
              fn: overrides:
              let
                f = if builtins.isFunction fn then fn else import fn;
              in
              f (builtins.intersectAttrs (builtins.functionArgs f) pkgs // overrides);
            rustPlatform.buildRustPackage =
              args: fake "${args.pname}-${args.version}" (args // { builder = "buildRustPackage"; });
            mkShell = args: fake "shell" args;
            writeShellScriptBin = name: text: fake name { inherit text; };
          }
          // lib.genAttrs [
            "installShellFiles"
            "cargo"
            "rustc"
            "clippy"
            "rustfmt"
            "nix"
            "git"
            "zsh"
            "fish"
            "util-linux"
            "man-db"
            "hyperfine"
          ] (n: fake n { });
        in
        pkgs;
    in
    {
      inherit lib;
      legacyPackages = lib.genAttrs lib.platforms.unix pkgsFor;
    };
}
