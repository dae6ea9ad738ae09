//! The registry of flow kits: every flow of the vocabulary is registered, every kit has its
//! folder's files and its whole part of the SAM template (with exactly the secrets its
//! functions need), planned flows have none, and a kit added by the documented steps (the
//! example flow: Lightspeed shops → Business Central locations) runs between the two
//! simulators.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use lsbc_cli::template::{deployed_kits, head, render};
use lsbc_connectors::kit::{Direction, FlowKit, Registered};
use lsbc_connectors::{available_flows, registered};
use lsbc_core::Flow;
use lsbc_sandbox::lightspeed::{Entity, ShopSeed};
use lsbc_tests::pipeline::{EmbeddedHome, Home, Setup, sandboxes};
use serde_json::Value;

fn repo() -> &'static Path {
    Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."))
}

fn template_file() -> String {
    std::fs::read_to_string(repo().join("infra/template.yaml")).expect("template")
}

/// The text of resource `id` in a rendered template (up to the next resource or section).
fn resource<'a>(template: &'a str, id: &str) -> Option<&'a str> {
    let start = template.find(&format!("\n  {id}:\n"))? + 1;
    let rest = &template[start + id.len() + 4..];
    let end = rest
        .match_indices('\n')
        .map(|(i, _)| i + 1)
        .find(|i| {
            let line = &rest[*i..];
            (line.starts_with("  ") && !line.starts_with("   ") && !line.starts_with("  #"))
                || (!line.starts_with(' ') && !line.is_empty() && !line.starts_with('\n'))
        })
        .unwrap_or(rest.len());
    Some(&template[start..start + id.len() + 4 + end])
}

fn pascal(flow: Flow) -> String {
    let mut c = flow.as_str().chars();
    c.next()
        .map(|f| f.to_uppercase().chain(c).collect())
        .unwrap_or_default()
}

fn api_id(reads_lightspeed: bool) -> &'static str {
    if reads_lightspeed {
        "Lightspeed"
    } else {
        "BusinessCentral"
    }
}

/// Checks that `template` has every resource of `kit`, each function holding only the
/// secret its stage needs.
fn assert_kit_resources(template: &str, kit: &dyn FlowKit) {
    let p = pascal(kit.flow());
    let d = kit.direction();
    for suffix in [
        "TransformQueue",
        "TransformDeadLetterQueue",
        "PushQueue",
        "PushDeadLetterQueue",
        "TransformFunction",
        "PushFunction",
        "TransformFailedAlarm",
        "PushFailedAlarm",
        "StuckAlarm",
    ] {
        assert!(
            resource(template, &format!("{p}{suffix}")).is_some(),
            "{p}{suffix} missing from the template"
        );
    }
    let reads = d.reads == lsbc_connectors::Api::Lightspeed;
    let writes = d.writes == lsbc_connectors::Api::Lightspeed;
    let only_secret = |id: &str, lightspeed: bool, also_reads_other: bool| {
        let text = resource(template, id).unwrap_or_else(|| panic!("{id} missing"));
        let (own, other) = if lightspeed {
            ("LightspeedSecret", "BusinessCentralSecret")
        } else {
            ("BusinessCentralSecret", "LightspeedSecret")
        };
        assert!(
            text.contains(&format!("Resource: !Ref {own}")),
            "{id}: {text}"
        );
        if also_reads_other {
            // Read only (the sink of a flow that recomputes from its source).
            let extra = text
                .split("Sid: SourceSecrets")
                .nth(1)
                .unwrap_or_else(|| panic!("{id}: no SourceSecrets statement"));
            assert!(extra.contains(&format!("Resource: !Ref {other}")), "{text}");
            assert!(
                extra.contains("Action: [secretsmanager:GetSecretValue]"),
                "{text}"
            );
        } else {
            assert!(!text.contains(other), "{id} holds {other}: {text}");
        }
        let rotates = text.contains("secretsmanager:PutSecretValue");
        assert_eq!(
            rotates, lightspeed,
            "{id}: only the Lightspeed secret is rotated"
        );
    };
    only_secret(&format!("{p}TransformFunction"), reads, false);
    only_secret(&format!("{p}PushFunction"), writes, kit.sink_reads_source());
    let poll = format!("{}PollFunction", api_id(reads));
    only_secret(&poll, reads, false);
    let poll_text = resource(template, &poll).expect("poll function");
    assert!(poll_text.contains(&format!("{p}Schedule:")), "{poll_text}");
    assert!(
        poll_text.contains(&format!("!Ref {p}TransformQueue")),
        "{poll_text}"
    );
    // The poll only sends records on; it never consumes the transform queues.
    let records = poll_text
        .split("Sid: Records")
        .nth(1)
        .expect("a Records statement");
    assert!(
        records.contains("Action: [sqs:SendMessage]")
            && records.contains(&format!("!GetAtt {p}TransformQueue.Arn")),
        "{poll_text}"
    );
}

#[test]
fn every_flow_is_registered_and_every_kit_is_its_flow() {
    for flow in Flow::ALL {
        match registered(flow) {
            Registered::Kit(kit) => {
                assert_eq!(kit.flow(), flow);
                assert!(!kit.streams().is_empty(), "{flow} has no stream");
                assert!(kit.check_settings(&Value::Null).is_ok(), "{flow} defaults");
                assert!(available_flows().contains(&flow));
            }
            Registered::Planned(planned) => {
                assert!(!planned.summary.is_empty());
                assert!(!available_flows().contains(&flow));
                assert!(lsbc_connectors::kit(flow).is_err());
            }
        }
    }
    assert_eq!(
        available_flows(),
        [Flow::Customers, Flow::Products, Flow::Orders, Flow::Stock]
    );
    // Stock runs the other way.
    assert_eq!(
        registered(Flow::Stock).direction(),
        Direction::TO_LIGHTSPEED
    );
    // The example kit is registered but never deployed.
    assert_eq!(
        registered(Flow::Shops).kit().map(FlowKit::flow),
        Some(Flow::Shops)
    );
    assert!(!Flow::ALL.contains(&Flow::Shops));
}

#[test]
fn every_flow_folder_has_the_same_files_and_keeps_its_sides_apart() {
    let src = repo().join("shared/connectors/src");
    let mut kits: Vec<&dyn FlowKit> = deployed_kits();
    kits.extend(registered(Flow::Shops).kit());
    for kit in kits {
        let folder = src.join(kit.flow().as_str());
        let mut files = vec![
            "mod.rs",
            "keys.rs",
            "command.rs",
            "source.rs",
            "transform.rs",
            "sink.rs",
            "settings.rs",
        ];
        if kit.default_mapping().is_some() {
            files.push("mapping.json");
        }
        for file in files {
            assert!(folder.join(file).is_file(), "{}/{file} missing", kit.flow());
        }
        for entry in std::fs::read_dir(&folder).expect("folder") {
            let path = entry.expect("entry").path();
            let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
            let text = std::fs::read_to_string(&path).unwrap_or_default();
            if name == "transform.rs" {
                for sink_side in ["super::sink", "Writer", "super::variants", "super::images"] {
                    assert!(
                        !text.contains(sink_side),
                        "{}/transform.rs imports from the sink side ({sink_side})",
                        kit.flow()
                    );
                }
            } else if name != "mod.rs" && text.contains("use super::transform") {
                panic!("{}/{name} imports from the transform", kit.flow());
            }
        }
    }
}

#[test]
fn the_checked_in_template_follows_the_registry() {
    let file = template_file();
    let expected = render(head(&file), &deployed_kits());
    assert!(
        file == expected,
        "infra/template.yaml is not what the registry implies: run `cargo lsbc template --write`"
    );
    for kit in deployed_kits() {
        assert_kit_resources(&file, kit);
    }
    for flow in Flow::ALL {
        if let Registered::Planned(_) = registered(flow) {
            let p = pascal(flow);
            assert!(
                !file.contains(&format!("\n  {p}")),
                "planned flow {flow} has resources in the template"
            );
            assert!(!file.contains(&format!("\"flow\":\"{flow}\"")));
        }
    }
}

#[test]
fn a_new_kit_gets_its_whole_part_of_the_template_in_either_direction() {
    let file = template_file();
    let mut kits = deployed_kits();
    let example = registered(Flow::Shops).kit().expect("example kit");
    kits.push(example);
    let rendered = render(head(&file), &kits);
    assert_kit_resources(&rendered, example);
    // The stock flow reads Business Central and writes Lightspeed; its push function reads
    // Business Central's figures too.
    let stock = lsbc_connectors::kit(Flow::Stock).expect("stock kit");
    assert_kit_resources(&rendered, stock);
    let push = resource(&rendered, "StockPushFunction").expect("stock push");
    assert!(
        push.contains("Resource: !Ref BusinessCentralSecret"),
        "{push}"
    );
    assert!(push.contains("Resource: !Ref LightspeedSecret"), "{push}");
    // The Business Central poll function polls only the flows that read Business Central,
    // and Business Central's notifications go to its queue.
    let bc_poll = resource(&rendered, "BusinessCentralPollFunction").expect("BC poll");
    assert!(bc_poll.contains("LSBC_FLOWS: stock\n"), "{bc_poll}");
    let ls_poll = resource(&rendered, "LightspeedPollFunction").expect("LS poll");
    assert!(
        ls_poll.contains("LSBC_FLOWS: customers,products,orders,shops\n"),
        "{ls_poll}"
    );
    let webhook = resource(&rendered, "WebhookFunction").expect("webhook");
    assert!(
        webhook.contains("!Ref BusinessCentralPollQueue"),
        "{webhook}"
    );
    // Review finding 24: the public notification route can't reach the Lightspeed secret;
    // only the callback function, which finishes a connection, writes it.
    assert!(!webhook.contains("LightspeedSecret"), "{webhook}");
    assert!(
        webhook.contains("LSBC_LIGHTSPEED_SECRET: \"\""),
        "{webhook}"
    );
    let callback = resource(&rendered, "LightspeedCallbackFunction").expect("callback");
    assert!(
        callback.contains(
            "secretsmanager:PutSecretValue]\n              Resource: !Ref LightspeedSecret"
        ),
        "{callback}"
    );
    for other in ["WebhookSecret", "Queue", "Table"] {
        assert!(!callback.contains(other), "{other}: {callback}");
    }
    assert!(rendered.contains("${LightspeedCallbackFunctionUrl.FunctionUrl}lightspeed/callback"));
    for id in [
        "BusinessCentralPollQueue",
        "BusinessCentralPollDeadLetterQueue",
        "BusinessCentralPollFailedAlarm",
    ] {
        assert!(resource(&rendered, id).is_some(), "{id}");
    }
}

#[tokio::test]
async fn the_example_kit_runs_between_the_simulators() {
    let sandboxes = sandboxes().await;
    let ls = &sandboxes.lightspeed;
    let bc = &sandboxes.business_central;
    for (name, zone) in [("Amsterdam", "Europe/Amsterdam"), ("Boston", "US/Eastern")] {
        ls.add_shop(&ShopSeed {
            name: name.into(),
            time_zone: zone.into(),
            ..ShopSeed::default()
        });
    }
    let home = EmbeddedHome::new(&sandboxes, Flow::Shops, Setup::default()).await;
    home.sync().await;

    let expected = |bc_locations: &[Value]| {
        for shop in ls.records(Entity::Shop) {
            let id = shop["shopID"].as_str().expect("shop id");
            let code = format!("LS-{id}");
            let location = bc_locations
                .iter()
                .find(|l| l["code"] == code.as_str())
                .unwrap_or_else(|| panic!("no location {code}"));
            assert_eq!(location["displayName"], shop["name"], "{code}");
        }
    };
    let locations = bc.records("locations");
    expected(&locations);
    let made = locations
        .iter()
        .filter(|l| l["code"].as_str().is_some_and(|c| c.starts_with("LS-")))
        .count();
    assert_eq!(made, ls.records(Entity::Shop).len());

    // A renamed shop renames its location; nothing is created twice.
    let first = ls.records(Entity::Shop)[0]["shopID"]
        .as_str()
        .and_then(|s| s.parse::<u64>().ok())
        .expect("shop id");
    ls.set_field(Entity::Shop, first, "name", "Amsterdam Centraal")
        .expect("rename");
    home.sync().await;
    let locations = bc.records("locations");
    expected(&locations);
    assert_eq!(
        locations
            .iter()
            .filter(|l| l["code"].as_str().is_some_and(|c| c.starts_with("LS-")))
            .count(),
        made
    );
}

/// The logical ids of the resources of `kind` in `template`.
fn resources_of(template: &str, kind: &str) -> Vec<String> {
    let lines: Vec<&str> = template.lines().collect();
    lines
        .windows(2)
        .filter(|w| w[1].trim() == format!("Type: {kind}"))
        .filter_map(|w| {
            w[0].strip_prefix("  ")?
                .strip_suffix(':')
                .map(str::to_owned)
        })
        .collect()
}

#[test]
fn every_function_logs_into_an_expiring_group_and_retries_agree_with_the_redrive() {
    let file = template_file();
    let functions = resources_of(&file, "AWS::Serverless::Function");
    assert!(functions.len() >= 6, "{functions:?}");
    for function in &functions {
        let group = resource(&file, &format!("{function}Logs"))
            .unwrap_or_else(|| panic!("{function} has no log group"));
        assert!(
            group.contains(&format!("/aws/lambda/${{{function}}}"))
                && group.contains("RetentionInDays: !Ref LogRetentionDays"),
            "{group}"
        );
    }
    // A record is parked by the handler (with its reason) before the queue's own redrive
    // could move it without one.
    let max_receives = resource(&file, "MaxReceives").expect("MaxReceives");
    let allowed: u32 = max_receives
        .lines()
        .find_map(|l| l.trim().strip_prefix("MaxValue: "))
        .and_then(|v| v.parse().ok())
        .expect("MaxValue");
    // The handlers know the queues' redrive limit, to park on the delivery before it.
    let told: u32 = file
        .lines()
        .find_map(|l| l.trim().strip_prefix("LSBC_QUEUE_REDRIVE: "))
        .and_then(|v| v.trim_matches('"').parse().ok())
        .expect("LSBC_QUEUE_REDRIVE in the functions' environment");
    for line in file.lines().filter(|l| l.contains("maxReceiveCount:")) {
        let redrive: u32 = line
            .split(':')
            .nth(1)
            .and_then(|v| v.trim().parse().ok())
            .expect("a number");
        assert!(
            allowed < redrive,
            "MaxReceives up to {allowed}, redrive at {redrive}"
        );
        assert_eq!(told, redrive, "LSBC_QUEUE_REDRIVE and maxReceiveCount");
    }
    // A parked record's activity entries outlive its dead letter (review finding 5).
    let retention = resource(&file, "ActivityRetentionDays").expect("ActivityRetentionDays");
    let min_days: u32 = retention
        .lines()
        .find_map(|l| l.trim().strip_prefix("MinValue: "))
        .and_then(|v| v.parse().ok())
        .expect("MinValue");
    for line in file
        .lines()
        .filter(|l| l.contains("MessageRetentionPeriod:"))
    {
        let seconds: u32 = line
            .split(':')
            .nth(1)
            .and_then(|v| v.trim().parse().ok())
            .expect("a number");
        assert!(
            min_days * 86_400 >= seconds,
            "activity kept {min_days} days, messages {seconds} s"
        );
    }
    // Every queue's visibility timeout is at least six times its function's timeout (AWS's
    // advice for an SQS trigger): a message still being handled never comes back meanwhile.
    let default_timeout: u32 = file
        .lines()
        .skip_while(|l| !l.starts_with("Globals:"))
        .find_map(|l| l.trim().strip_prefix("Timeout: "))
        .and_then(|v| v.parse().ok())
        .expect("the functions' default Timeout");
    for queue in resources_of(&file, "AWS::SQS::Queue") {
        let Some(function) = queue
            .strip_suffix("Queue")
            .filter(|q| !q.ends_with("DeadLetter"))
        else {
            continue;
        };
        let text = resource(&file, &queue).expect("queue");
        let visibility: u32 = text
            .lines()
            .find_map(|l| l.trim().strip_prefix("VisibilityTimeout: "))
            .and_then(|v| v.parse().ok())
            .expect("a visibility timeout");
        let function_text = resource(&file, &format!("{function}Function"))
            .unwrap_or_else(|| panic!("{function}Function consumes {queue}"));
        let timeout: u32 = function_text
            .lines()
            .find_map(|l| l.trim().strip_prefix("Timeout: "))
            .and_then(|v| v.parse().ok())
            .unwrap_or(default_timeout);
        assert!(
            visibility >= 6 * timeout,
            "{queue}: visibility {visibility} s under 6 x {function}Function's {timeout} s"
        );
    }
    for kit in deployed_kits() {
        let id = format!("{}TransformFunction", pascal(kit.flow()));
        let text = resource(&file, &id).expect("transform function");
        assert!(
            text.contains("MaximumConcurrency: !Ref TransformConcurrency"),
            "{text}"
        );
    }
}

/// A kit's log alarms become a metric filter on its push function's log group (the JSON
/// lines Lambda's runtime writes keep an event's fields under `fields`) and an alarm: the
/// orders flow's held, waiting and posting sales.
#[test]
fn log_alarms_become_metric_filters_and_alarms() {
    let file = template_file();
    for (id, name) in [
        ("OrdersOrderHeld", "order_held"),
        ("OrdersOrderWaiting", "order_waiting"),
        ("OrdersOrderPosting", "order_posting"),
    ] {
        let filter = resource(&file, &format!("{id}MetricFilter")).expect("metric filter");
        assert!(
            filter.contains(&format!(
                "FilterPattern: '{{ $.fields.alarm = \"{name}\" }}'"
            )),
            "{filter}"
        );
        assert!(
            filter.contains("LogGroupName: !Ref OrdersPushFunctionLogs"),
            "{filter}"
        );
        let alarm = resource(&file, &format!("{id}Alarm")).expect("alarm");
        assert!(
            alarm.contains(&format!("${{AWS::StackName}}-{name}")),
            "{alarm}"
        );
        assert!(alarm.contains("AlarmActions: [!Ref AlarmTopic]"), "{alarm}");
    }
}
