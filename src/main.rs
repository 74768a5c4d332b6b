fn main() -> std::process::ExitCode {
    nixp::run()
}
