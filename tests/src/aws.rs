//! Access to the AWS API emulator for tests: the clients, after checking the environment
//! points at an emulator — a test that needs it fails with instructions when it doesn't,
//! never skips.

use aws_config::SdkConfig;
use lsbc_aws::{AwsClients, load_sdk_config};

const HOW_TO_START: &str = "\
these tests run against the AWS API emulator (moto), and it is not configured.
Start it and point the SDK at it:
    python3 -m venv .venv && .venv/bin/pip install 'moto[server]==5.2.5'
    .venv/bin/moto_server -H 127.0.0.1 -p 5055 > /tmp/moto.log 2>&1 &
    export AWS_ENDPOINT_URL=http://127.0.0.1:5055 AWS_ACCESS_KEY_ID=test \\
           AWS_SECRET_ACCESS_KEY=test AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true
(stop it afterwards with `kill <its pid>`)";

/// The SDK configuration from the environment, after checking it points at an emulator.
pub async fn sdk_config() -> SdkConfig {
    let set = |v: &str| std::env::var_os(v).is_some_and(|x| !x.is_empty());
    let mut missing: Vec<&str> = [
        "AWS_ENDPOINT_URL",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
    ]
    .into_iter()
    .filter(|v| !set(v))
    .collect();
    if !set("AWS_REGION") && !set("AWS_DEFAULT_REGION") {
        missing.push("AWS_REGION");
    }
    assert!(
        missing.is_empty(),
        "{} not set: {HOW_TO_START}",
        missing.join(", ")
    );
    load_sdk_config().await
}

/// Clients on the emulator.
pub async fn emulator_clients() -> AwsClients {
    AwsClients::new(&sdk_config().await)
}
