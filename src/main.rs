//! `s3-orchestrator`: parse arguments, load config, run. Everything else lives in the library.

fn main() -> std::process::ExitCode {
    s3_orchestrator::cli::main()
}
