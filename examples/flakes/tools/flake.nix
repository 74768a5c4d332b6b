{
  description = "tools: a flake whose main package is called MAIN_PKG";

  outputs = { self }:
    let
      forAll = f: { x86_64-linux = f "x86_64-linux"; aarch64-linux = f "aarch64-linux"; };
    in {
      packages = forAll (system: {
        MAIN_PKG = derivation {
          inherit system;
          name = "tool";
          builder = "/bin/sh";
          args = [ "-c" "/bin/mkdir -p $out/bin && /bin/cp ${builtins.toFile "tool" "#!/bin/sh\necho 'tool: the main package of the tools flake'\n"} $out/bin/tool && /bin/chmod +x $out/bin/tool" ];
        };
      });
    };
}
