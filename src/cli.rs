//! The command line: `s3-orchestrator --config FILE` serves; subcommands validate a config.

use crate::config::Config;
use clap::{Parser, Subcommand};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser, Debug)]
#[command(
    name = "s3-orchestrator",
    version,
    about = "One S3 endpoint in front of several S3-compatible providers"
)]
pub struct Cli {
    /// Config file (YAML).
    #[arg(long, short = 'c', global = true, default_value = "config.yaml")]
    pub config: PathBuf,
    /// Log filter (error, warn, info, debug, trace, or a tracing filter); overrides RUST_LOG.
    #[arg(long, global = true)]
    pub log_level: Option<String>,
    #[command(subcommand)]
    pub command: Option<Command>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Serve S3 (the default when no subcommand is given).
    Serve,
    /// Check a config file and exit non-zero with the reason if it is invalid.
    Validate,
    /// Adopt objects that already exist on a provider into a virtual bucket (run it while the
    /// orchestrator is stopped).
    Import {
        /// The backend (as named in the config) whose bucket holds the objects.
        #[arg(long)]
        backend: String,
        /// The virtual bucket the objects join.
        #[arg(long)]
        bucket: String,
        /// Only keys under this prefix.
        #[arg(long, default_value = "")]
        prefix: String,
    },
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command.as_ref().unwrap_or(&Command::Serve) {
        Command::Validate => match Config::load(&cli.config) {
            Ok(cfg) => {
                println!(
                    "{}: ok ({} backends, {} buckets, replication factor {})",
                    cli.config.display(),
                    cfg.backends.len(),
                    cfg.buckets.len(),
                    cfg.replication.factor
                );
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("{e}");
                ExitCode::from(2)
            }
        },
        Command::Import {
            backend,
            bucket,
            prefix,
        } => {
            let cfg = match Config::load(&cli.config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            match crate::import::run(&cfg, backend, bucket, prefix) {
                Ok((adopted, skipped)) => {
                    println!("imported {adopted} objects into {bucket} ({skipped} already known)");
                    ExitCode::SUCCESS
                }
                Err(e) => {
                    eprintln!("s3-orchestrator import: {e}");
                    ExitCode::FAILURE
                }
            }
        }
        Command::Serve => {
            crate::logging::init(cli.log_level.as_deref());
            let cfg = match Config::load(&cli.config) {
                Ok(c) => c,
                Err(e) => {
                    eprintln!("{e}");
                    return ExitCode::from(2);
                }
            };
            match serve(cfg, &cli.config) {
                Ok(()) => ExitCode::SUCCESS,
                Err(e) => {
                    tracing::error!(error = %e, "fatal");
                    eprintln!("s3-orchestrator: {e}");
                    ExitCode::FAILURE
                }
            }
        }
    }
}

/// Runs until SIGTERM or SIGINT, then shuts down gracefully. SIGHUP reloads the config file:
/// a file that does not validate is refused whole and the running config stays.
pub fn serve(cfg: Config, path: &std::path::Path) -> std::io::Result<()> {
    use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
    let running = crate::run(cfg)?;
    running.handle.set_config_path(path);
    let shutdown = running.shutdown.clone();
    let handle = running.handle.clone();
    let mut signals = signal_hook::iterator::Signals::new([SIGTERM, SIGINT, SIGHUP])?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            for sig in signals.forever() {
                if sig == SIGHUP {
                    reload(&handle);
                    continue;
                }
                tracing::info!(signal = sig, "shutting down");
                shutdown.trigger();
                break;
            }
        })?;
    running.join();
    Ok(())
}

/// Reloads the config file the instance started from; logs the outcome either way.
pub fn reload(handle: &crate::proxy::AppHandle) -> bool {
    match handle.reload_from_file() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "config reload refused; the running config stays");
            false
        }
    }
}
