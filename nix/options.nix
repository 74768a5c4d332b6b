# The options `programs.nixp` of the NixOS and home-manager modules.
# `where`: which config file the module writes, for the descriptions.
{
  lib,
  pkgs,
  where,
}:
let
  inherit (lib) mkOption types;
  source =
    what:
    mkOption {
      type = types.nullOr (types.either types.path types.str);
      default = null;
      description = "The layer's source, when it is ${what}. Exactly one of dir, registry and collection is set.";
    };
in
{
  enable = lib.mkEnableOption "nixp, which looks flake ids up in your own layers of flakes before nix's registries";
  package = mkOption {
    type = types.package;
    default = pkgs.callPackage ./package.nix { };
    description = "The nixp package.";
  };
  layers = mkOption {
    description = "The layers, in the order they are asked, written to ${where}.";
    default = [ ];
    example = [
      {
        name = "PKGS";
        dir = "/srv/flakes";
      }
      {
        name = "team";
        collection = "git+https://git.example.org/team/flakes.git";
        ids = [ "acme-*" ];
      }
    ];
    type = types.listOf (
      types.submodule {
        options = {
          name = mkOption {
            type = types.strMatching "[a-zA-Z][a-zA-Z0-9_-]*";
            description = "The layer's name (a letter, then letters, digits, '_' or '-'); `NAME.id` asks only this layer.";
          };
          dir = source "a directory of flakes";
          registry = source "a nix registry.json (a path or a URL)";
          collection = mkOption {
            type = types.nullOr (
              types.strMatching "(git\\+|github:|gitlab:|sourcehut:|https?://|file://|path:).*"
            );
            default = null;
            description = "The layer's source, when it is a collection of flakes nix fetches (git+..., github:, gitlab:, sourcehut:, a tarball URL, path:).";
          };
          ids = mkOption {
            type = types.listOf (types.strMatching "[a-zA-Z0-9_*?-]+");
            default = [ ];
            description = "Ids this layer claims (globs with * and ?): they never fall through to nix's registries.";
          };
          explicit = mkOption {
            type = types.bool;
            default = false;
            description = "Only `NAME.id` asks this layer.";
          };
          optional = mkOption {
            type = types.bool;
            default = false;
            description = "A layer that cannot answer is skipped with a warning, instead of stopping the ids below it.";
          };
        };
      }
    );
  };
  fallback = mkOption {
    type = types.nullOr types.bool;
    default = null;
    description = "Whether ids no layer holds go to nix's registries (nixp's default: true).";
  };
  aliasNix = mkOption {
    type = types.bool;
    default = false;
    description = "Install a `nix` that is nixp in front of the real nix (which nixp runs by NIXP_NIX, so it never loops).";
  };
}
