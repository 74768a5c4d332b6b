# home-manager: `programs.nixp` writes ~/.config/nixp/config.json.
import ./module.nix {
  where = "$XDG_CONFIG_HOME/nixp/config.json";
  realNix = config: pkgs: if (config.nix.package or null) != null then config.nix.package else pkgs.nix;
  settings =
    { packages, text }:
    {
      home.packages = packages;
      xdg.configFile."nixp/config.json".text = text;
    };
}
