# What the NixOS and home-manager modules share: the options
# `programs.nixp`, nixp installed (with the `nix` alias when asked), and
# config.json made by ./config.nix. Each module says where the file goes
# (`where`, `settings`) and which nix is the real one (`realNix`).
{
  where,
  realNix,
  settings,
}:
{
  config,
  lib,
  pkgs,
  ...
}:
let
  cfg = config.programs.nixp;
  alias = pkgs.callPackage ./alias-nix.nix {
    nixp = cfg.package;
    nix = realNix config pkgs;
  };
in
{
  options.programs.nixp = import ./options.nix { inherit lib pkgs where; };
  config = lib.mkIf cfg.enable (settings {
    packages = [ cfg.package ] ++ lib.optional cfg.aliasNix (lib.hiPrio alias);
    text = builtins.toJSON (
      import ./config.nix {
        inherit (cfg) layers fallback;
        prefix = "programs.nixp";
      }
    );
  });
}
