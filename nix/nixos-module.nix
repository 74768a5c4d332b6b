# NixOS: `programs.nixp` writes /etc/nixp/config.json.
import ./module.nix {
  where = "/etc/nixp/config.json";
  realNix = config: _pkgs: config.nix.package;
  settings =
    { packages, text }:
    {
      environment.systemPackages = packages;
      environment.etc."nixp/config.json".text = text;
    };
}
