//! `lsbc-sandbox`: both simulators as one standalone process on 127.0.0.1, for trying the
//! sync or another client by hand. Prints where each listens, how to connect `lsbc` to them
//! (and, for Lightspeed, a token pair for trying the API by hand), then serves until Ctrl-C.
//! Seed, inspect and inject faults through each one's `/_sandbox/…` control API. Generated
//! items' images are served by the simulator itself: nothing leaves 127.0.0.1.

use clap::Parser;

/// Command-line options.
#[derive(Debug, Parser)]
#[command(
    name = "lsbc-sandbox",
    about = "Lightspeed and Business Central simulators"
)]
struct Options {
    /// Lightspeed port (0: any free port).
    #[arg(long, default_value_t = 0)]
    lightspeed_port: u16,
    /// Business Central port (0: any free port).
    #[arg(long, default_value_t = 0)]
    business_central_port: u16,
    /// Seed of the generated data and of the faults.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Time scale: API time runs this many times faster than the wall clock.
    #[arg(long, default_value_t = 1.0)]
    time_scale: f64,
    /// Fill Lightspeed with a generated shop of this many customers (0: empty).
    #[arg(long, default_value_t = 0)]
    customers: usize,
    /// How the printed commands call lsbc: `lsbc` when installed, `cargo lsbc` in a clone.
    #[arg(long, default_value = "lsbc")]
    cli: String,
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("LSBC_LOG")
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .init();
    let options = Options::parse();
    serve(options).await
}

/// Both simulators, with the steps that connect `lsbc` to them.
#[cfg(all(feature = "lightspeed", feature = "business-central"))]
async fn serve(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    use lsbc_sandbox::standalone::{Standalone, StandaloneOptions};
    let sandboxes = Standalone::start(&StandaloneOptions {
        lightspeed_port: options.lightspeed_port,
        business_central_port: options.business_central_port,
        seed: options.seed,
        time_scale: options.time_scale,
        customers: options.customers,
        cli: options.cli,
    })
    .await?;
    print!("{}", sandboxes.banner());
    let tokens = sandboxes.lightspeed.issue_tokens();
    println!("\nTo try the Lightspeed API by hand (curl -H 'Authorization: Bearer …'):");
    println!("  access token:    {}", tokens.access_token);
    println!("  refresh token:   {}", tokens.refresh_token);
    println!("\nServing until Ctrl-C.");
    tokio::signal::ctrl_c().await?;
    sandboxes.stop().await;
    Ok(())
}

/// One simulator (a build with one feature).
#[cfg(not(all(feature = "lightspeed", feature = "business-central")))]
async fn serve(options: Options) -> Result<(), Box<dyn std::error::Error>> {
    let _ = &options.cli;
    #[cfg(feature = "lightspeed")]
    let lightspeed = {
        use lsbc_sandbox::lightspeed::{
            LightspeedSandbox, LightspeedSandboxConfig, Sizes, generate,
        };
        let sandbox = LightspeedSandbox::start(LightspeedSandboxConfig {
            port: options.lightspeed_port,
            seed: options.seed,
            time_scale: options.time_scale,
            ..LightspeedSandboxConfig::default()
        })
        .await?;
        if options.customers > 0 {
            let data = generate(
                options.seed,
                Sizes {
                    customers: options.customers,
                    ..Sizes::default()
                },
            );
            sandbox.load(&data)?;
            sandbox.serve_images()?;
        }
        let tokens = sandbox.issue_tokens();
        println!(
            "Lightspeed:        {}  (account {})",
            sandbox.base_url(),
            sandbox.account_id()
        );
        println!(
            "  client:          {} / {}",
            sandbox.config().client_id,
            sandbox.config().client_secret
        );
        println!("  access token:    {}", tokens.access_token);
        println!("  refresh token:   {}", tokens.refresh_token);
        sandbox
    };
    #[cfg(feature = "business-central")]
    let business_central = {
        use lsbc_sandbox::business_central::{
            BusinessCentralSandbox, BusinessCentralSandboxConfig,
        };
        let sandbox = BusinessCentralSandbox::start(BusinessCentralSandboxConfig {
            port: options.business_central_port,
            seed: options.seed,
            time_scale: options.time_scale,
            ..BusinessCentralSandboxConfig::default()
        })
        .await?;
        println!("Business Central:  {}", sandbox.api_root());
        for p in &sandbox.config().principals {
            println!("  app:             {} / {}", p.client_id, p.client_secret);
        }
        sandbox
    };
    println!("Serving until Ctrl-C.");
    tokio::signal::ctrl_c().await?;
    #[cfg(feature = "lightspeed")]
    lightspeed.stop().await;
    #[cfg(feature = "business-central")]
    business_central.stop().await;
    Ok(())
}
