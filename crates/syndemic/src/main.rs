//! `syndemic`: the command line of the syndemic platform.

mod bench;
mod bench_evidence;
mod bench_hub;
mod bench_pages;
mod calc;
mod community;
mod deprivation;
mod evidence;
#[cfg(test)]
mod fuzz;
mod hub;
mod indicators;
mod outreach;
mod progress;
mod survey;
mod table;
mod token;
mod web;

use clap::{Parser, Subcommand};

/// syndemic — a place-based health equity platform.
#[derive(Parser)]
#[command(name = "syndemic", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Build the demo place (Hartmoor) and serve it at http://127.0.0.1:8080.
    Demo(web::DemoArgs),
    /// Serve a store of imported data as the web application.
    Serve(web::ServeArgs),
    /// Choose stops for outreach (a vaccination bus, an advice van) that reach the
    /// most need within a radius.
    PlanOutreach(Box<outreach::PlanArgs>),
    /// Compute a public-health statistic from a CSV file (CSV out).
    Calc(Box<calc::CalcArgs>),
    /// Import published files into the evidence store.
    Import(evidence::ImportArgs),
    /// Look areas up in the evidence store.
    Areas(evidence::AreasArgs),
    /// Compute every area's and every deprivation group's rates from LSOA counts.
    Compute(Box<evidence::ComputeArgs>),
    /// Export observations from the evidence store.
    Export(evidence::ExportArgs),
    /// List, show, describe and import indicators' metadata and small-number rules.
    Indicators(indicators::IndicatorsArgs),
    /// Generate the benchmark workloads and time `syndemic calc` on them.
    Bench(bench::BenchArgs),
    /// Create the referral hub's first system admin (prints a one-time password link).
    Admin(hub::AdminArgs),
    /// Issue an organisation's API token (printed once).
    Token(token::TokenArgs),
    /// Import or export the service directory as an Open Referral UK feed.
    Directory(hub::DirectoryArgs),
    /// Take a consistent backup of a live SQLite store.
    Backup(hub::BackupArgs),
    /// Bring a backup back into a new store file.
    Restore(hub::RestoreArgs),
    /// Erase personal data past its retention period (and old backups).
    Purge(hub::PurgeArgs),
    /// Residents' surveys: create one, import responses, list what is held.
    Survey(survey::SurveyArgs),
    /// Community-defined places: define one from its small areas, list them.
    Community(community::CommunityArgs),
}

/// Logs to standard error, filtered by `RUST_LOG` or `SYNDEMIC_LOG` (tracing's
/// directives: `info`, `syndemic_web=debug`, `security=info`, …); warnings and
/// errors only without either, so a command's own output and messages are all
/// that a person sees. A server (`serve`, `demo`) also writes its access and
/// security logs at `info` by default, each line with its target (`access`,
/// `security`), to `--log-file` (appended, created 0600) when given.
fn init_logging(command: &Command) -> anyhow::Result<()> {
    let (serving, file) = match command {
        Command::Serve(args) => (true, args.log_file.clone()),
        Command::Demo(_) => (true, None),
        _ => (false, None),
    };
    let default = if serving {
        "warn,access=info,security=info"
    } else {
        "warn"
    };
    let filter = tracing_subscriber::EnvFilter::try_from_env("RUST_LOG")
        .or_else(|_| tracing_subscriber::EnvFilter::try_from_env("SYNDEMIC_LOG"))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default));
    let logs = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(serving);
    match file {
        Some(path) => {
            let mut options = std::fs::OpenOptions::new();
            options.append(true).create(true);
            #[cfg(unix)]
            std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
            let f = options
                .open(&path)
                .map_err(|e| anyhow::anyhow!("cannot open the log file {}: {e}", path.display()))?;
            logs.with_ansi(false)
                .with_writer(std::sync::Mutex::new(f))
                .init();
        }
        None => logs.with_writer(std::io::stderr).init(),
    }
    Ok(())
}

/// The subcommand's name, for the span around its run.
fn name_of(command: &Command) -> &'static str {
    match command {
        Command::Demo(_) => "demo",
        Command::Serve(_) => "serve",
        Command::PlanOutreach(_) => "plan-outreach",
        Command::Calc(_) => "calc",
        Command::Import(_) => "import",
        Command::Areas(_) => "areas",
        Command::Compute(_) => "compute",
        Command::Export(_) => "export",
        Command::Indicators(_) => "indicators",
        Command::Bench(_) => "bench",
        Command::Admin(_) => "admin",
        Command::Token(_) => "token",
        Command::Directory(_) => "directory",
        Command::Backup(_) => "backup",
        Command::Restore(_) => "restore",
        Command::Purge(_) => "purge",
        Command::Survey(_) => "survey",
        Command::Community(_) => "community",
    }
}

fn main() -> std::process::ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(&cli.command) {
        eprintln!("error: {e:#}");
        return std::process::ExitCode::FAILURE;
    }
    let span = tracing::info_span!("command", name = name_of(&cli.command));
    let _entered = span.enter();
    let started = std::time::Instant::now();
    let result = match cli.command {
        Command::Demo(args) => web::demo(&args),
        Command::Serve(args) => web::serve(&args),
        Command::PlanOutreach(args) => outreach::run(&args),
        Command::Calc(args) => calc::run(&args),
        Command::Bench(args) => bench::run(&args),
        Command::Import(args) => evidence::import(&args),
        Command::Areas(args) => evidence::areas(&args),
        Command::Export(args) => evidence::export(&args),
        Command::Indicators(args) => indicators::run(&args),
        Command::Compute(args) => evidence::run_compute(&args),
        Command::Admin(args) => hub::admin(&args),
        Command::Token(args) => token::run(&args),
        Command::Directory(args) => hub::directory(&args),
        Command::Backup(args) => hub::backup(&args),
        Command::Restore(args) => hub::restore(&args),
        Command::Purge(args) => hub::purge(&args),
        Command::Survey(args) => survey::run(&args),
        Command::Community(args) => community::run(&args),
    };
    tracing::info!(
        seconds = started.elapsed().as_secs_f64(),
        ok = result.is_ok(),
        "command finished"
    );
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            std::process::ExitCode::FAILURE
        }
    }
}
