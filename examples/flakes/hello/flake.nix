{
  description = "hello: a greeter, built with nothing but /bin/sh";

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
        greeter = script system "greeter" "#!/bin/sh\necho \"Hello from the private hello flake${"$"}{1:+, $1}!\"\n";
        default = greeter;
      });
    };
}
