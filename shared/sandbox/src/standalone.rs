//! Both simulators as one standalone process (`lsbc-sandbox`): started on 127.0.0.1, filled
//! with a generated shop whose images they serve themselves, and described for a person —
//! where each one listens, and how to connect `lsbc` to them: the two `lsbc connect`
//! commands and an `lsbc.toml`, ready to paste.

use std::fmt::Write as _;

use crate::business_central::{BusinessCentralSandbox, BusinessCentralSandboxConfig};
use crate::lightspeed::{
    LightspeedSandbox, LightspeedSandboxConfig, SandboxError, Sizes, generate,
};

/// How the standalone simulators run.
#[derive(Debug, Clone)]
pub struct StandaloneOptions {
    /// Lightspeed's port (0: any free port).
    pub lightspeed_port: u16,
    /// Business Central's port (0: any free port).
    pub business_central_port: u16,
    /// Seed of the generated data and of the faults.
    pub seed: u64,
    /// API time runs this many times faster than the wall clock.
    pub time_scale: f64,
    /// Lightspeed customers to generate (0: an empty account).
    pub customers: usize,
    /// How the printed commands call `lsbc` (`lsbc`, or `cargo lsbc` in a clone).
    pub cli: String,
}

impl Default for StandaloneOptions {
    fn default() -> Self {
        Self {
            lightspeed_port: 0,
            business_central_port: 0,
            seed: 1,
            time_scale: 1.0,
            customers: 0,
            cli: "lsbc".into(),
        }
    }
}

/// Why the simulators did not start.
#[derive(Debug, thiserror::Error)]
pub enum StandaloneError {
    /// A port could not be bound.
    #[error("starting a simulator: {0}")]
    Start(#[from] std::io::Error),
    /// The generated data were refused.
    #[error("seeding Lightspeed: {0}")]
    Seed(#[from] SandboxError),
}

/// The two simulators, running.
#[derive(Debug)]
pub struct Standalone {
    /// Lightspeed Retail.
    pub lightspeed: LightspeedSandbox,
    /// Business Central.
    pub business_central: BusinessCentralSandbox,
    cli: String,
}

/// How to connect `lsbc` to the simulators, each command as its arguments (after `lsbc`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectSteps {
    /// `lsbc connect lightspeed …`: prints the simulator's authorize URL; the page
    /// approves at once and redirects to the registered URI.
    pub lightspeed: Vec<String>,
    /// `lsbc connect business-central …`.
    pub business_central: Vec<String>,
    /// An `lsbc.toml` for `lsbc run` (state and credentials where the commands above put
    /// them, relative to the directory they run in).
    pub lsbc_toml: String,
}

impl Standalone {
    /// Starts both simulators; with customers to generate, fills Lightspeed with a shop
    /// (customers, catalogue, sales) and serves its images from the simulator.
    pub async fn start(options: &StandaloneOptions) -> Result<Self, StandaloneError> {
        let lightspeed = LightspeedSandbox::start(LightspeedSandboxConfig {
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
            lightspeed.load(&data)?;
            lightspeed.serve_images()?;
        }
        let business_central = BusinessCentralSandbox::start(BusinessCentralSandboxConfig {
            port: options.business_central_port,
            seed: options.seed,
            time_scale: options.time_scale,
            ..BusinessCentralSandboxConfig::default()
        })
        .await?;
        Ok(Self {
            lightspeed,
            business_central,
            cli: options.cli.clone(),
        })
    }

    /// The connect commands and `lsbc.toml`.
    pub fn connect_steps(&self) -> ConnectSteps {
        let ls = self.lightspeed.config();
        let ls_base = self.lightspeed.base_url();
        let bc = self.business_central.config();
        let bc_base = self.business_central.base_url();
        let owned = |args: &[&str]| args.iter().map(|a| (*a).to_owned()).collect::<Vec<_>>();
        let mut business_central = owned(&[
            "connect",
            "business-central",
            "--tenant",
            &bc.tenant,
            "--environment",
            &bc.environment,
        ]);
        if let Some(app) = bc.principals.first() {
            business_central.extend(owned(&[
                "--client-id",
                &app.client_id,
                "--client-secret",
                &app.client_secret,
            ]));
        }
        business_central.extend(owned(&["--api-base", &bc_base, "--login-base", &bc_base]));
        ConnectSteps {
            lightspeed: owned(&[
                "connect",
                "lightspeed",
                "--client-id",
                &ls.client_id,
                "--client-secret",
                &ls.client_secret,
                "--redirect-uri",
                &ls.redirect_uri,
                "--api-base",
                &ls_base,
                "--auth-base",
                &ls_base,
            ]),
            business_central,
            lsbc_toml: "state = \".lsbc/state.sqlite\"\n\
                        credentials = \".lsbc/credentials.json\"\n\
                        interval_seconds = 60\n"
                .to_owned(),
        }
    }

    /// What `lsbc-sandbox` prints: where each simulator listens and its credentials, then
    /// how to connect `lsbc` to them.
    pub fn banner(&self) -> String {
        let ls = self.lightspeed.config();
        let steps = self.connect_steps();
        let command = |args: &[String]| {
            let quoted: Vec<String> = args.iter().map(|a| shell_word(a)).collect();
            format!("{} {}", self.cli, quoted.join(" "))
        };
        let mut out = String::new();
        // Writing to a String cannot fail.
        let _ = writeln!(
            out,
            "Lightspeed:        {}  (account {})",
            self.lightspeed.base_url(),
            self.lightspeed.account_id()
        );
        let _ = writeln!(
            out,
            "  client:          {} / {}",
            ls.client_id, ls.client_secret
        );
        let _ = writeln!(
            out,
            "Business Central:  {}",
            self.business_central.api_root()
        );
        for p in &self.business_central.config().principals {
            let _ = writeln!(
                out,
                "  app:             {} / {}",
                p.client_id, p.client_secret
            );
        }
        let _ = writeln!(
            out,
            "\nConnect lsbc to them (in the directory you will run it from):\n\n  {}\n",
            command(&steps.lightspeed)
        );
        let _ = writeln!(
            out,
            "It prints an authorize URL: open it. The simulator approves at once and redirects\n\
             to {}, which nothing answers (that is expected): paste the\n\
             URL the browser shows where the command asks for it. Then:\n\n  {}\n",
            ls.redirect_uri,
            command(&steps.business_central)
        );
        let _ = writeln!(out, "Write this to lsbc.toml:\n");
        for line in steps.lsbc_toml.lines() {
            let _ = writeln!(out, "  {line}");
        }
        let _ = writeln!(
            out,
            "\nand sync:\n\n  {} run --config lsbc.toml --once",
            self.cli
        );
        out
    }

    /// Stops both.
    pub async fn stop(self) {
        self.lightspeed.stop().await;
        self.business_central.stop().await;
    }
}

/// `word` as one word for a POSIX shell: as it is when it is safe, else single-quoted.
fn shell_word(word: &str) -> String {
    let safe = !word.is_empty()
        && word
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || "-_./:=@,+%".contains(c));
    if safe {
        word.to_owned()
    } else {
        format!("'{}'", word.replace('\'', r"'\''"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn words_are_quoted_only_when_needed() {
        assert_eq!(shell_word("http://127.0.0.1:4000"), "http://127.0.0.1:4000");
        assert_eq!(shell_word("a b"), "'a b'");
        assert_eq!(shell_word("it's"), r"'it'\''s'");
        assert_eq!(shell_word(""), "''");
    }
}
