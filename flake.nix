{
  description = "nixp: look flake ids up in your own layers of flakes first, then in nix's registries";

  inputs.nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";

  outputs =
    { self, nixpkgs }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
        "x86_64-darwin"
        "aarch64-darwin"
      ];
      forAll = f: lib.genAttrs systems (system: f nixpkgs.legacyPackages.${system});
    in
    {
      overlays.default = final: prev: { nixp = final.callPackage ./nix/package.nix { }; };

      packages = forAll (
        pkgs:
        let
          nixp = pkgs.callPackage ./nix/package.nix { };
        in
        {
          default = nixp;
          inherit nixp;
        }
      );

      apps = forAll (pkgs: {
        default = {
          type = "app";
          program = "${self.packages.${pkgs.stdenv.hostPlatform.system}.default}/bin/nixp";
        };
      });

      # What scripts/test.sh and .ci/run need: the toolchain, a nix to test
      # against, git, the shells completion is tested in, script(1) for the
      # terminal tests, man, and hyperfine for scripts/bench.sh.
      devShells = forAll (pkgs: {
        default = pkgs.mkShell {
          packages = with pkgs; [
            cargo
            rustc
            clippy
            rustfmt
            nix
            git
            zsh
            fish
            util-linux
            man-db
            hyperfine
          ];
        };
      });

      nixosModules.default = ./nix/nixos-module.nix;
      homeManagerModules.default = ./nix/home-module.nix;

      # The config.json the modules write, from their settings.
      lib.config = import ./nix/config.nix;
    };
}
