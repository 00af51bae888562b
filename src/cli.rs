//! The command line: `s3-orchestrator --config FILE` serves; subcommands validate a config and
//! print a running instance's latency statistics (`stats`).

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
    /// Print a running instance's latency percentiles (its `/stats`) as a table.
    Stats {
        /// The admin listener, e.g. `http://127.0.0.1:9001`.
        #[arg(long, default_value = "http://127.0.0.1:9001")]
        admin: String,
        /// Which window: `last_60s` or `since_start` (default: both).
        #[arg(long)]
        window: Option<String>,
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
        Command::Stats { admin, window } => match fetch_stats(admin) {
            Ok(stats) => {
                print!("{}", stats_table(&stats, window.as_deref()));
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("s3-orchestrator stats: {e}");
                ExitCode::FAILURE
            }
        },
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
    if let Some(file) = running.admin.token_file() {
        // Where the token is, never the token itself (it is a credential).
        eprintln!(
            "s3-orchestrator: no admin credentials configured; the admin API takes \
             `Authorization: Bearer <token>` with the token in {}",
            file.display()
        );
    }
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
pub fn reload(handle: &crate::state::AppHandle) -> bool {
    match handle.reload_from_file() {
        Ok(()) => true,
        Err(e) => {
            tracing::warn!(error = %e, "config reload refused; the running config stays");
            false
        }
    }
}

/// How long `stats` waits for the admin listener.
pub const STATS_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Largest `/stats` document accepted (a few hundred series at most).
pub const MAX_STATS_BYTES: u64 = 8 * 1024 * 1024;

/// GETs `<admin>/stats`.
pub fn fetch_stats(admin: &str) -> Result<crate::metrics::stats::Stats, String> {
    let url = format!("{}/stats", admin.trim_end_matches('/'));
    let agent: ureq::Agent = ureq::Agent::config_builder()
        .timeout_global(Some(STATS_TIMEOUT))
        .build()
        .into();
    let mut resp = agent.get(&url).call().map_err(|e| format!("{url}: {e}"))?;
    let text = resp
        .body_mut()
        .with_config()
        .limit(MAX_STATS_BYTES)
        .read_to_string()
        .map_err(|e| format!("{url}: {e}"))?;
    serde_json::from_str(&text).map_err(|e| format!("{url}: not a /stats document: {e}"))
}

/// The table `stats` prints: one block per window, one line per series.
pub fn stats_table(stats: &crate::metrics::stats::Stats, only: Option<&str>) -> String {
    use std::fmt::Write;
    let mut out = String::new();
    let order = [
        crate::metrics::stats::LAST_60S,
        crate::metrics::stats::SINCE_START,
    ];
    for name in order {
        if only.is_some_and(|o| o != name) {
            continue;
        }
        let Some(w) = stats.windows.get(name) else {
            continue;
        };
        let _ = writeln!(
            out,
            "{name} ({:.0} s, latency in {})",
            w.seconds, stats.unit
        );
        let _ = writeln!(
            out,
            "{:<40} {:>9} {:>10} {:>10} {:>10} {:>10} {:>10}",
            "SERIES", "COUNT", "p50", "p90", "p99", "p99.9", "max"
        );
        let mut line = |label: String, p: &crate::metrics::stats::Percentiles| {
            let _ = writeln!(
                out,
                "{:<40} {:>9} {:>10.3} {:>10.3} {:>10.3} {:>10.3} {:>10.3}",
                label, p.count, p.p50, p.p90, p.p99, p.p99_9, p.max
            );
        };
        for (op, p) in &w.operations {
            line(format!("s3 {op}"), p);
        }
        for (backend, ops) in &w.backends {
            for (op, p) in ops {
                line(format!("backend {backend} {op}"), p);
            }
        }
        if w.operations.is_empty() && w.backends.is_empty() {
            out.push_str("(no requests)\n");
        }
        out.push('\n');
    }
    out
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;
    use crate::metrics::stats::{Percentiles, Stats, Window};

    #[test]
    fn table_lists_every_series() {
        let p = Percentiles {
            count: 12,
            p50: 1.5,
            p90: 2.0,
            p99: 3.25,
            p99_9: 4.0,
            max: 5.0,
        };
        let mut w = Window {
            seconds: 60.0,
            ..Default::default()
        };
        w.operations.insert("GetObject".into(), p);
        w.backends
            .entry("disk1".into())
            .or_default()
            .insert("PutObject".into(), p);
        let mut st = Stats {
            unit: "ms".into(),
            ..Default::default()
        };
        st.windows.insert("last_60s".into(), w);
        st.windows.insert("since_start".into(), Window::default());
        let t = stats_table(&st, None);
        assert!(t.contains("last_60s (60 s, latency in ms)"), "{t}");
        let get = t.lines().find(|l| l.starts_with("s3 GetObject")).unwrap();
        let cols: Vec<&str> = get.split_whitespace().collect();
        assert_eq!(
            cols[2..],
            ["12", "1.500", "2.000", "3.250", "4.000", "5.000"]
        );
        assert!(t.contains("backend disk1 PutObject"));
        assert!(t.contains("(no requests)"));
        let only = stats_table(&st, Some("since_start"));
        assert!(!only.contains("GetObject"));
    }
}
