{
  description = "blender: several packages and a dev shell (a stand-in, not the real Blender)";

  outputs = { self }:
    let
      forAll = f: { x86_64-linux = f "x86_64-linux"; aarch64-linux = f "aarch64-linux"; };
      script = system: name: text: derivation {
        inherit name system;
        builder = "/bin/sh";
        args = [ "-c" "/bin/mkdir -p $out/bin && /bin/cp ${builtins.toFile name text} $out/bin/${name} && /bin/chmod +x $out/bin/${name}" ];
      };
    in {
      packages = forAll (system: rec {
        cycles = script system "cycles" "#!/bin/sh\necho 'cycles: rendering (pretend)'\n" // {
          version = "4.2";
          meta = { description = "Cycles, the path-tracing renderer (pretend)"; license = { spdxId = "GPL-2.0-or-later"; }; mainProgram = "cycles"; };
        };
        eevee = script system "eevee" "#!/bin/sh\necho 'eevee: rendering in real time (pretend)'\n" // {
          version = "4.2";
          meta = { description = "EEVEE, the real-time renderer (pretend)"; license = { spdxId = "GPL-2.0-or-later"; }; mainProgram = "eevee"; };
        };
        default = cycles;
      });
      devShells = forAll (system: {
        default = derivation {
          inherit system;
          name = "blender-dev";
          builder = "/bin/bash";
          BLENDER_DEV = "1";
          outputs = [ "out" ];
          args = [ "-c" "echo 'export BLENDER_DEV=1' > $out" ];
        };
      });
    };
}
