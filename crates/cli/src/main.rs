//! `switchyard`: parse arguments, load and validate the configuration (before binding any
//! port), then run. Exit codes: 0 ok, 1 runtime failure, 2 invalid configuration or usage.

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use switchyard_config::{Config, ConfigError};

mod keys;

/// mimalloc instead of glibc's malloc: fewer instructions per request (see Cargo.toml).
#[global_allocator]
static GLOBAL: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(
    name = "switchyard",
    version,
    about = "An AI gateway: one API in front of every LLM provider"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the gateway. Without --config: ./switchyard.yaml if present, else built-in defaults
    /// (127.0.0.1:4000, a `mock` model, providers from OPENAI_API_KEY, ANTHROPIC_API_KEY, ...).
    Serve {
        /// Configuration file (YAML).
        #[arg(long, short)]
        config: Option<PathBuf>,
        /// Override the listen address (host:port).
        #[arg(long)]
        listen: Option<String>,
    },
    /// Validate a configuration and print every error found; exit non-zero if any.
    Check {
        #[arg(long, short)]
        config: Option<PathBuf>,
    },
    /// Manage virtual keys on a running gateway (create, list, get, revoke, rotate).
    Keys(keys::KeysArgs),
    /// Manage teams on a running gateway (create, list).
    Teams(keys::TeamsArgs),
}

/// Loads the configuration the way `serve` and `check` both do.
fn load(path: Option<PathBuf>) -> Result<(Config, String), Vec<ConfigError>> {
    let path = path.or_else(|| switchyard_config::default_path().map(PathBuf::from));
    match path {
        Some(p) => switchyard_config::load_file(&p).map(|c| (c, p.display().to_string())),
        None => Ok((
            switchyard_config::defaults::builtin(&|n| std::env::var(n).ok()),
            "built-in defaults".to_string(),
        )),
    }
}

fn report(errors: &[ConfigError]) {
    let mut err = std::io::stderr().lock();
    let _ = writeln!(err, "configuration has {} error(s):", errors.len());
    for e in errors {
        let _ = writeln!(err, "  {e}");
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Keys(args) => keys::run_keys(args),
        Command::Teams(args) => keys::run_teams(args),
        Command::Check { config } => match load(config) {
            Ok((c, source)) => {
                let _ = writeln!(
                    std::io::stdout().lock(),
                    "configuration OK ({source}): {} provider(s), {} model(s)",
                    c.providers.len(),
                    c.models.len()
                );
                ExitCode::SUCCESS
            }
            Err(errors) => {
                report(&errors);
                ExitCode::from(2)
            }
        },
        Command::Serve { config, listen } => {
            let (mut config, source) = match load(config) {
                Ok(c) => c,
                Err(errors) => {
                    report(&errors);
                    return ExitCode::from(2);
                }
            };
            if let Some(l) = listen {
                match l.parse() {
                    Ok(a) => config.listen = a,
                    Err(_) => {
                        report(&[ConfigError {
                            path: "--listen".into(),
                            message: format!("\"{l}\" is not an address:port"),
                        }]);
                        return ExitCode::from(2);
                    }
                }
            }
            switchyard_telemetry::init_logging();
            serve(config, source)
        }
    }
}

fn serve(config: Config, source: String) -> ExitCode {
    // One CPU (the process's affinity mask or cgroup quota): a single-threaded runtime; the
    // multi-threaded scheduler's work-stealing bookkeeping buys nothing there.
    let one_cpu = std::thread::available_parallelism().is_ok_and(|n| n.get() == 1);
    let mut builder = if one_cpu {
        tokio::runtime::Builder::new_current_thread()
    } else {
        tokio::runtime::Builder::new_multi_thread()
    };
    let runtime = match builder.enable_all().build() {
        Ok(r) => r,
        Err(e) => {
            tracing::error!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    runtime.block_on(async move {
        if config.master_key.is_none() {
            tracing::warn!(
                "no master_key configured: the gateway is open to anyone who can reach it"
            );
        }
        let running =
            match switchyard_server::start(&config, switchyard_server::shutdown_signal()).await {
                Ok(r) => r,
                Err(e) => {
                    tracing::error!("{e}");
                    return ExitCode::FAILURE;
                }
            };
        let mut providers: Vec<_> = config.providers.keys().cloned().collect();
        providers.sort();
        tracing::info!(
            address = %running.addr,
            config = %source,
            providers = %providers.join(","),
            runtime = %if one_cpu { "single-threaded" } else { "multi-threaded" },
            "switchyard listening on http://{}",
            running.addr
        );
        match running.wait().await {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                tracing::error!("server error: {e}");
                ExitCode::FAILURE
            }
        }
    })
}
