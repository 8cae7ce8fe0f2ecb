use std::process::ExitCode;

fn main() -> ExitCode {
    archive::cli::main()
}
