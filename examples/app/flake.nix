{
  description = "app: your own flake, whose input is the private id hello";

  # An indirect id (so is an input with no url at all): nixp passes
  # `--override-flake hello <the private hello>` to nix, which locks it so.
  inputs.hello.url = "hello";

  outputs = { self, hello }: {
    packages.x86_64-linux.default = hello.packages.x86_64-linux.greeter;
    packages.aarch64-linux.default = hello.packages.aarch64-linux.greeter;
  };
}
