//! `lsbc`: parses the command line and hands each command to its module in the `lsbc_cli`
//! library.

use std::process::ExitCode;

use clap::Parser;
use lsbc_cli::args::{Cli, Command};
use lsbc_cli::{
    CliError, configure, connect, demo, logs, operate, orders, preview, run, status, template,
    webhooks,
};

async fn execute(cli: Cli) -> Result<ExitCode, CliError> {
    match cli.command {
        Command::Template(args) => template::run(&args),
        Command::Demo(args) => demo::run(args).await,
        Command::Run(args) => run::run(args).await,
        Command::Preview(args) => preview::run(args).await,
        Command::Mapping { action, home } => configure::run_mapping(action, &home).await,
        Command::Settings { action, home } => configure::run_settings(action, &home).await,
        Command::Connect { target, home } => connect::run(target, &home).await,
        Command::Replay(args) => operate::run_replay(args).await,
        Command::Cursor(args) => operate::run_cursor(args).await,
        Command::Status { home } => status::run(&home).await,
        Command::Logs(args) => logs::run(args).await,
        Command::Orders { action, home } => orders::run(action, &home).await,
        Command::Webhooks {
            action,
            webhook,
            home,
        } => webhooks::run(action, &webhook, &home).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // The demo's skips and failures are its point: they are in its summary and activity log,
    // so its log shows only errors of its own unless LSBC_LOG asks for more. `lsbc run`
    // reports skips, warnings and failures in its table and activity log: its log shows
    // errors only (`LSBC_LOG=warn` shows each warning as it happens).
    let default_level = match cli.command {
        Command::Demo(_) => "off",
        Command::Run(_) => "error",
        _ => "warn",
    };
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LSBC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(default_level)),
        )
        .with_writer(std::io::stderr)
        .init();
    lsbc_core::error::log_details_from_env();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("lsbc: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(execute(cli)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("lsbc: {e}");
            ExitCode::FAILURE
        }
    }
}
