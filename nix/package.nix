# nixp built from this source with nixpkgs' Rust tooling and Cargo.lock;
# it installs the shell completions, the man page and the README.
{
  lib,
  rustPlatform,
  installShellFiles,
}:
let
  cargo = lib.importTOML ../Cargo.toml;
in
rustPlatform.buildRustPackage {
  pname = "nixp";
  inherit (cargo.package) version;
  src = lib.cleanSource ../.;
  cargoLock.lockFile = ../Cargo.lock;
  nativeBuildInputs = [ installShellFiles ];
  # The tests run a real nix against real flakes (scripts/test.sh, CI);
  # the build sandbox has no store to run one in.
  doCheck = false;
  postInstall = ''
    installShellCompletion --cmd nixp \
      --bash completions/nixp.bash \
      --zsh completions/_nixp \
      --fish completions/nixp.fish
    installManPage man/nixp.1
    install -Dm644 README.md $out/share/doc/nixp/README.md
  '';
  meta = {
    inherit (cargo.package) description;
    license = lib.licenses.mit;
    mainProgram = "nixp";
    platforms = lib.platforms.unix;
  };
}
