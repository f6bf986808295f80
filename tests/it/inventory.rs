//! `fedsync inventory` and the AWS inventory reader against moto: which accounts, providers and
//! roles are found, paging, and accounts that fail (through the fault-injecting proxy).

use std::collections::BTreeSet;
use std::time::Duration;

use fedsync::aws::InventorySettings;
use fedsync::aws::inventory::Quiet;
use fedsync::aws::{AwsOptions, read_inventory};
use fedsync::model::{
    AccountOutcome, FailureStage, Inventory, ProviderVerdict, SkipReason, TrustVerdict,
};

use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};
use crate::support::proxy::{Fault, Proxy, Rule, query_error};
use crate::support::{fedsync, stderr, stdout};

/// The seeded Organization and what an inventory of it must find.
struct Seeded {
    prod: String,
    dev: String,
    sandbox: String,
    closed: String,
    /// (account, role ARN, providers) of every federated role.
    expected: BTreeSet<(String, String, Vec<String>)>,
}

/// management: our provider and one role; prod: our provider under two names, another tenant's
/// provider, and roles trusting each mix, one with a path, one for a service; dev: 12 roles;
/// sandbox: no provider; closed: a closed account with a federated role.
async fn seed(endpoint: &str) -> Seeded {
    let sdk = org::sdk(endpoint).await;
    org::create_organization(&sdk).await;
    let prod = org::create_account(&sdk, "prod").await;
    let dev = org::create_account(&sdk, "dev").await;
    let sandbox = org::create_account(&sdk, "sandbox").await;
    let closed = org::create_account(&sdk, "closed").await;
    let mut expected = BTreeSet::new();
    let ours = org::our_metadata();

    let iam = org::iam_in(&sdk, MANAGEMENT).await;
    let idp = org::saml_provider(&iam, "AzureAD", &ours).await;
    let arn = org::role(&iam, "/", "MgmtAdmin", &org::saml_trust(&[&idp])).await;
    expected.insert((MANAGEMENT.to_owned(), arn, vec![idp]));

    let iam = org::iam_in(&sdk, &prod).await;
    let azure = org::saml_provider(&iam, "AzureAD", &ours).await;
    let entra = org::saml_provider(&iam, "EntraID", &ours).await;
    let other = org::saml_provider(&iam, "OtherTenant", &org::other_tenant_metadata()).await;
    for (path, name, trusts, found) in [
        ("/", "Admin", vec![azure.clone()], vec![azure.clone()]),
        (
            "/team/ops/",
            "Operator",
            vec![azure.clone()],
            vec![azure.clone()],
        ),
        ("/", "Foreign", vec![other.clone()], vec![]),
        (
            "/",
            "Both",
            vec![azure.clone(), other.clone()],
            vec![azure.clone()],
        ),
        ("/", "Second", vec![entra.clone()], vec![entra.clone()]),
    ] {
        let trusts: Vec<&str> = trusts.iter().map(String::as_str).collect();
        let arn = org::role(&iam, path, name, &org::saml_trust(&trusts)).await;
        if !found.is_empty() {
            expected.insert((prod.clone(), arn, found));
        }
    }
    org::role(&iam, "/", "Ec2", &org::service_trust("ec2.amazonaws.com")).await;

    let iam = org::iam_in(&sdk, &dev).await;
    let idp = org::saml_provider(&iam, "AzureAD", &ours).await;
    for i in 0..12 {
        let arn = org::role(&iam, "/", &format!("Dev{i:02}"), &org::saml_trust(&[&idp])).await;
        expected.insert((dev.clone(), arn, vec![idp.clone()]));
    }

    let iam = org::iam_in(&sdk, &sandbox).await;
    org::role(&iam, "/", "Ec2", &org::service_trust("ec2.amazonaws.com")).await;

    let iam = org::iam_in(&sdk, &closed).await;
    let idp = org::saml_provider(&iam, "AzureAD", &ours).await;
    org::role(&iam, "/", "Gone", &org::saml_trust(&[&idp])).await;
    org::close_account(&sdk, &closed).await;

    Seeded {
        prod,
        dev,
        sandbox,
        closed,
        expected,
    }
}

/// Every federated role of an inventory, as (account, role ARN, providers).
fn found(inventory: &Inventory) -> BTreeSet<(String, String, Vec<String>)> {
    let mut found = BTreeSet::new();
    for account in &inventory.accounts {
        if let AccountOutcome::Read { roles, .. } = &account.outcome {
            for role in roles {
                let providers: Vec<String> = role.trusted().map(ToString::to_string).collect();
                if !providers.is_empty() {
                    found.insert((account.id.to_string(), role.arn.to_string(), providers));
                }
            }
        }
    }
    found
}

fn settings() -> InventorySettings {
    org::inventory_settings()
}

/// Fast retries and short timeouts, so failure tests take seconds.
fn quick() -> AwsOptions {
    AwsOptions {
        max_attempts: 3,
        initial_backoff: Duration::from_millis(10),
        max_backoff: Duration::from_millis(50),
        attempt_timeout: Duration::from_millis(700),
        call_timeout: Duration::from_secs(3),
        list_roles_page_size: 1000,
    }
}

async fn read(endpoint: &str, settings: &InventorySettings, options: &AwsOptions) -> Inventory {
    let sdk = org::sdk(endpoint)
        .await
        .to_builder()
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .build();
    read_inventory(&sdk, settings, options, &Quiet)
        .await
        .expect("the inventory is read")
}

fn outcome<'a>(inventory: &'a Inventory, account: &str) -> &'a AccountOutcome {
    &inventory
        .accounts
        .iter()
        .find(|a| a.id.as_str() == account)
        .unwrap_or_else(|| panic!("{account} listed"))
        .outcome
}

/// `fedsync inventory` against `endpoint` as the management account, with our SAML settings.
fn inventory_cmd(endpoint: &str, args: &[&str]) -> assert_cmd::Command {
    let mut cmd = fedsync();
    cmd.arg("inventory").args(args);
    for (key, value) in org::aws_env(endpoint) {
        cmd.env(key, value);
    }
    cmd
}

fn run_inventory(endpoint: &str, args: &[&str]) -> std::process::Output {
    inventory_cmd(endpoint, args).output().unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn inventory_prints_exactly_the_federated_roles_of_the_seeded_org() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let out = run_inventory(&moto.url, &["--output", "json"]);
    crate::support::assert_exit(&out, 0);
    let inventory = Inventory::from_json(&stdout(&out)).expect("stdout is an inventory snapshot");
    assert_eq!(found(&inventory), seeded.expected);

    assert!(
        matches!(
            outcome(&inventory, &seeded.closed),
            AccountOutcome::Skipped { reason: SkipReason::Suspended, state } if state == "SUSPENDED"
        ),
        "a closed account is not read, and the inventory says why"
    );
    assert_eq!(inventory.accounts.len(), 5);
    assert_eq!(inventory.read(), 4);
    let AccountOutcome::Read { providers, roles } = outcome(&inventory, &seeded.sandbox) else {
        panic!("sandbox read")
    };
    assert!(providers.is_empty() && roles.is_empty());
    let AccountOutcome::Read { providers, .. } = outcome(&inventory, &seeded.prod) else {
        panic!("prod read")
    };
    let verdicts: Vec<(&str, ProviderVerdict)> = providers
        .iter()
        .map(|p| (p.arn.name(), p.verdict))
        .collect();
    assert_eq!(
        verdicts,
        [
            ("AzureAD", ProviderVerdict::Ours),
            ("EntraID", ProviderVerdict::Ours),
            ("OtherTenant", ProviderVerdict::NotOurs)
        ],
        "another tenant's provider is not ours"
    );

    let all = format!("{}{}", stdout(&out), stderr(&out));
    assert!(
        !all.contains("testing"),
        "credentials never reach the output"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_text_output_lists_roles_and_skipped_accounts() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let out = run_inventory(&moto.url, &[]);
    crate::support::assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with(
            "5 accounts: 4 read, 0 failed, 1 not read; 17 federated roles, 0 undecided."
        ),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "arn:aws:iam::{}:role/team/ops/Operator  (via AzureAD)",
            seeded.prod
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{}  sandbox\n  no SAML provider of our Entra app",
            seeded.sandbox
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "{} closed: suspended (state SUSPENDED)",
            seeded.closed
        )),
        "{text}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn list_roles_is_paged_to_the_end_and_skipped_without_a_provider() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    let options = AwsOptions {
        list_roles_page_size: 5,
        ..quick()
    };
    let inventory = read(&proxy.url, &settings(), &options).await;
    assert_eq!(found(&inventory), seeded.expected);
    // management 1 role: 1 page; prod 6 roles: 2 pages; dev 12 roles: 3 pages; sandbox: no
    // provider of ours, so no ListRoles at all.
    assert_eq!(proxy.seen("ListRoles").len(), 6);
    assert_eq!(
        proxy.seen("AssumeRole").len(),
        3,
        "the management account uses its own credentials"
    );
    assert_eq!(proxy.seen("GetSAMLProvider").len(), 5);
}

/// Real IAM returns `AssumeRolePolicyDocument` percent-encoded inside the XML; moto returns it
/// raw. This rewrites moto's answer into IAM's form.
fn encode_trust_policies(xml: &str) -> String {
    const OPEN: &str = "<AssumeRolePolicyDocument>";
    const CLOSE: &str = "</AssumeRolePolicyDocument>";
    let mut out = String::new();
    let mut rest = xml;
    while let Some(start) = rest.find(OPEN) {
        let (before, after) = rest.split_at(start + OPEN.len());
        let end = after.find(CLOSE).expect("a closed element");
        let raw = after[..end]
            .replace("&quot;", "\"")
            .replace("&amp;", "&")
            .replace("&lt;", "<")
            .replace("&gt;", ">");
        out.push_str(before);
        out.push_str(
            &percent_encoding::utf8_percent_encode(&raw, percent_encoding::NON_ALPHANUMERIC)
                .to_string(),
        );
        rest = &after[end..];
    }
    out.push_str(rest);
    out
}

#[tokio::test(flavor = "multi_thread")]
async fn trust_policies_in_real_iams_url_encoded_form_give_the_same_inventory() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    proxy.add(Rule {
        action: "ListRoles",
        body_contains: None,
        times: None,
        fault: Fault::Rewrite(encode_trust_policies),
    });
    let inventory = read(&proxy.url, &settings(), &quick()).await;
    assert!(!proxy.seen("ListRoles").is_empty());
    assert_eq!(found(&inventory), seeded.expected);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_account_that_denies_assume_role_fails_alone_and_the_run_exits_4() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    proxy.add(Rule {
        action: "AssumeRole",
        body_contains: Some(seeded.prod.clone()),
        times: None,
        fault: Fault::Respond {
            status: 403,
            body: query_error(
                "AccessDenied",
                "User is not authorized to perform: sts:AssumeRole",
            ),
        },
    });
    let out = run_inventory(&proxy.url, &["--output", "json"]);
    crate::support::assert_exit(&out, 4);
    let inventory = Inventory::from_json(&stdout(&out)).unwrap();
    let AccountOutcome::Failed { stage, reason } = outcome(&inventory, &seeded.prod) else {
        panic!("prod failed")
    };
    assert_eq!(*stage, FailureStage::AssumeRole);
    assert!(
        reason.contains("AccessDenied")
            && reason.contains(&format!("arn:aws:iam::{}:role/fedsync-reader", seeded.prod)),
        "{reason}"
    );
    let others: BTreeSet<_> = seeded
        .expected
        .iter()
        .filter(|(a, _, _)| a != &seeded.prod)
        .cloned()
        .collect();
    assert_eq!(
        found(&inventory),
        others,
        "every other account is still read"
    );

    let text = run_inventory(&proxy.url, &[]);
    assert_eq!(text.status.code(), Some(4));
    assert!(
        stdout(&text).contains("! not read: assume-role: arn:aws:iam::"),
        "{}",
        stdout(&text)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn throttling_is_retried_and_past_the_ceiling_fails_only_that_account() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    let throttled = |times| Rule {
        action: "AssumeRole",
        body_contains: Some(String::new()),
        times,
        fault: Fault::Respond {
            status: 400,
            body: query_error("Throttling", "Rate exceeded"),
        },
    };
    // Twice throttled, then through: the retry rides it out.
    proxy.add(Rule {
        body_contains: Some(seeded.dev.clone()),
        ..throttled(Some(2))
    });
    // Always throttled: three attempts, then the account fails.
    proxy.add(Rule {
        body_contains: Some(seeded.prod.clone()),
        ..throttled(None)
    });
    let inventory = read(&proxy.url, &settings(), &quick()).await;

    assert!(
        matches!(outcome(&inventory, &seeded.dev), AccountOutcome::Read { roles, .. } if roles.len() == 12)
    );
    let AccountOutcome::Failed { stage, reason } = outcome(&inventory, &seeded.prod) else {
        panic!("prod failed")
    };
    assert_eq!(*stage, FailureStage::AssumeRole);
    assert!(reason.contains("Throttling: Rate exceeded"), "{reason}");
    let attempts = |account: &str| {
        proxy
            .seen("AssumeRole")
            .iter()
            .filter(|s| s.body.contains(account))
            .count()
    };
    assert_eq!(attempts(&seeded.dev), 3);
    assert_eq!(attempts(&seeded.prod), 3, "the retry ceiling holds");
}

/// Throttling the SDK rides out still slows the reads down: each throttling answer is counted
/// (through the real SDK clients, retries included), the pace halves, and every account is read.
#[tokio::test(flavor = "multi_thread")]
async fn throttling_that_is_ridden_out_is_counted_and_halves_the_pace() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    for account in [&seeded.dev, &seeded.prod] {
        proxy.add(Rule {
            action: "AssumeRole",
            body_contains: Some(account.clone()),
            times: Some(2),
            fault: Fault::Respond {
                status: 400,
                body: query_error("Throttling", "Rate exceeded"),
            },
        });
    }
    let options = quick();
    let sdk = org::sdk(&proxy.url)
        .await
        .to_builder()
        .retry_config(options.retry_config())
        .timeout_config(options.timeout_config())
        .build();
    let (inventory, paced) =
        fedsync::aws::inventory::read_inventory_paced(&sdk, &settings(), &options, &Quiet)
            .await
            .expect("the inventory is read");
    assert_eq!(inventory.failed(), 0, "{inventory:#?}");
    assert_eq!(paced.throttled_calls, 4, "{paced:?}");
    // The settings read 4 at once at most; throttling took it lower.
    assert_eq!(paced.peak, 4, "{paced:?}");
    assert!(paced.decreases >= 1, "{paced:?}");
    assert!(paced.settled < 4, "{paced:?}");

    // Unthrottled, nothing is counted and the pace never halves.
    let (_, calm) =
        fedsync::aws::inventory::read_inventory_paced(&sdk, &settings(), &options, &Quiet)
            .await
            .unwrap();
    assert_eq!((calm.throttled_calls, calm.decreases), (0, 0), "{calm:?}");
}

#[tokio::test(flavor = "multi_thread")]
async fn a_call_that_times_out_fails_only_that_account() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    proxy.add(Rule {
        action: "AssumeRole",
        body_contains: Some(seeded.dev.clone()),
        times: None,
        fault: Fault::Delay(Duration::from_secs(5)),
    });
    let inventory = read(&proxy.url, &settings(), &quick()).await;
    let AccountOutcome::Failed { stage, reason } = outcome(&inventory, &seeded.dev) else {
        panic!("dev failed")
    };
    assert_eq!(*stage, FailureStage::AssumeRole);
    assert!(reason.contains("timed out"), "{reason}");
    assert!(
        matches!(outcome(&inventory, &seeded.prod), AccountOutcome::Read { roles, .. } if roles.len() == 4)
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn odd_providers_and_policies_are_decided_one_by_one_and_never_fail_the_account() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let sdk = org::sdk(&moto.url).await;
    let iam = org::iam_in(&sdk, &seeded.dev).await;
    // Keycloak's EntitiesDescriptor, an IdP with a bare public key, and a broken document.
    for (name, xml) in [
        ("Keycloak", org::fixture("keycloak.xml")),
        ("Legacy", org::fixture("bare-key.xml")),
        ("Broken", "<EntityDescriptor".to_owned()),
    ] {
        org::saml_provider(&iam, name, &xml).await;
    }
    let idp = format!("arn:aws:iam::{}:saml-provider/AzureAD", seeded.dev);
    // A documented pattern (Deny everything but the SAML sign-in), and an undecidable one.
    let not_action = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Deny", "Principal": "*", "NotAction": ["sts:AssumeRoleWithSAML", "sts:TagSession"]}
    ]});
    let undecidable = serde_json::json!({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"Federated": idp}, "Action": "sts:AssumeRoleWithSAML"},
        {"Effect": "Deny", "NotPrincipal": {"Federated": idp}, "Action": "sts:*"}
    ]});
    let not_action_arn = org::role(&iam, "/", "NotActionGuard", &not_action.to_string()).await;
    let odd_arn = org::role(&iam, "/", "Odd", &undecidable.to_string()).await;

    let inventory = read(&moto.url, &settings(), &quick()).await;
    let AccountOutcome::Read { providers, roles } = outcome(&inventory, &seeded.dev) else {
        panic!("dev is read: {:?}", outcome(&inventory, &seeded.dev))
    };
    let verdict = |name: &str| {
        providers
            .iter()
            .find(|p| p.arn.name() == name)
            .map(|p| (p.verdict, p.reason.clone()))
            .unwrap()
    };
    assert_eq!(verdict("Keycloak").0, ProviderVerdict::NotOurs);
    assert_eq!(verdict("Legacy").0, ProviderVerdict::NotOurs);
    let (broken, why) = verdict("Broken");
    assert_eq!(broken, ProviderVerdict::CantTell);
    assert!(why.contains("cannot be read"), "{why}");
    // The 12 ordinary roles and the NotAction one are federated; the odd one is held alone.
    assert_eq!(
        roles
            .iter()
            .filter(|r| r.trusted().next().is_some())
            .count(),
        13
    );
    assert!(
        roles
            .iter()
            .any(|r| r.arn.to_string() == not_action_arn && r.trusted().count() == 1)
    );
    let odd = roles.iter().find(|r| r.arn.to_string() == odd_arn).unwrap();
    let odd_azure = odd
        .trust
        .iter()
        .find(|t| t.provider.name() == "AzureAD")
        .unwrap();
    assert_eq!(odd_azure.verdict, TrustVerdict::CantTell);
    assert!(
        odd_azure.reason.contains("NotPrincipal"),
        "{}",
        odd_azure.reason
    );

    // Through the binary: the account is read; the undecided role makes exit 4 and is named.
    let out = run_inventory(&moto.url, &[]);
    crate::support::assert_exit(&out, 4);
    let text = stdout(&out);
    assert!(
        text.contains(&format!("! {odd_arn}  held via AzureAD: statement 1")),
        "{text}"
    );
    assert!(!text.contains("not read:"), "{text}");
}

#[tokio::test(flavor = "multi_thread")]
async fn include_exclude_and_external_id_are_honoured() {
    let moto = Moto::start();
    let seeded = seed(&moto.url).await;
    let proxy = Proxy::start(&moto.url);
    let out = run_inventory(
        &proxy.url,
        &[
            "--output",
            "json",
            "--exclude-accounts",
            &seeded.dev,
            "--external-id",
            "fedsync-ext-42",
        ],
    );
    crate::support::assert_exit(&out, 0);
    let inventory = Inventory::from_json(&stdout(&out)).unwrap();
    assert!(matches!(
        outcome(&inventory, &seeded.dev),
        AccountOutcome::Skipped {
            reason: SkipReason::Excluded,
            ..
        }
    ));
    let assumed = proxy.seen("AssumeRole");
    assert_eq!(assumed.len(), 2, "prod and sandbox");
    assert!(
        assumed
            .iter()
            .all(|s| s.body.contains("ExternalId=fedsync-ext-42"))
    );

    let out = run_inventory(
        &moto.url,
        &[
            "--output",
            "json",
            "--include-accounts",
            &format!("{},{}", seeded.prod, seeded.dev),
        ],
    );
    let inventory = Inventory::from_json(&stdout(&out)).unwrap();
    let read: Vec<&str> = inventory
        .accounts
        .iter()
        .filter(|a| matches!(a.outcome, AccountOutcome::Read { .. }))
        .map(|a| a.id.as_str())
        .collect();
    assert_eq!(read, [seeded.prod.as_str(), seeded.dev.as_str()]);
}

#[tokio::test(flavor = "multi_thread")]
async fn outside_an_organization_only_the_current_account_is_read() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let iam = org::iam_in(&sdk, MANAGEMENT).await;
    let idp = org::saml_provider(&iam, "AzureAD", &org::our_metadata()).await;
    let arn = org::role(&iam, "/", "Admin", &org::saml_trust(&[&idp])).await;
    // Real Organizations answers so outside an Organization; moto lists nothing instead.
    let proxy = Proxy::start(&moto.url);
    proxy.add(Rule {
        action: "ListAccounts",
        body_contains: None,
        times: None,
        fault: Fault::Respond {
            status: 400,
            body: r#"{"__type":"AWSOrganizationsNotInUseException","Message":"Your account is not a member of an organization."}"#.to_owned(),
        },
    });
    let out = run_inventory(&proxy.url, &[]);
    crate::support::assert_exit(&out, 0);
    let text = stdout(&out);
    assert!(
        text.starts_with("Not in an AWS Organization: read this account only.\n1 accounts: 1 read"),
        "{text}"
    );
    assert!(text.contains(&format!("{arn}  (via AzureAD)")), "{text}");
}

/// 45 accounts list in three pages of 20; the accounts are read as the pages come, so every
/// account is read with its place in the listing kept. The second page then fails: the run stops
/// with exit 1 naming the listing, and no account of a page that was never listed is read.
#[tokio::test(flavor = "multi_thread")]
async fn every_listed_account_is_read_in_listing_order_and_a_listing_that_fails_part_way_fails_the_run()
 {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    org::create_organization(&sdk).await;
    let mut members = Vec::new();
    for i in 0..44 {
        members.push(org::create_account(&sdk, &format!("member-{i:02}")).await);
    }

    let out = run_inventory(&moto.url, &["--output", "json"]);
    crate::support::assert_exit(&out, 0);
    let inventory = Inventory::from_json(&stdout(&out)).unwrap();
    let mut listed: Vec<String> = Vec::new();
    let mut pages = aws_sdk_organizations::Client::new(&sdk)
        .list_accounts()
        .max_results(20)
        .into_paginator()
        .send();
    while let Some(page) = pages.next().await {
        listed.extend(
            page.unwrap()
                .accounts()
                .iter()
                .map(|a| a.id().unwrap().to_owned()),
        );
    }
    let read: Vec<&str> = inventory.accounts.iter().map(|a| a.id.as_str()).collect();
    assert_eq!(
        read, listed,
        "every account, in the order Organizations lists them"
    );
    assert_eq!(inventory.read(), 45);

    let proxy = Proxy::start(&moto.url);
    proxy.add(Rule {
        action: "ListAccounts",
        body_contains: Some("NextToken".to_owned()),
        times: None,
        fault: Fault::Respond {
            status: 400,
            body: r#"{"__type":"InvalidInputException","Message":"You provided a value that does not match the required pattern."}"#.to_owned(),
        },
    });
    let out = run_inventory(&proxy.url, &[]);
    crate::support::assert_exit(&out, 1);
    let err = stderr(&out);
    assert!(
        err.contains("cannot list the Organization's accounts"),
        "{err}"
    );
    assert!(err.contains("InvalidInputException"), "{err}");
    let first_page = &listed[..20];
    for seen in proxy.seen("AssumeRole") {
        assert!(
            first_page.iter().any(|id| seen.body.contains(id.as_str())),
            "an account that was never listed was read: {}",
            seen.body
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn an_organization_that_lists_no_account_is_an_error() {
    let moto = Moto::start();
    let out = run_inventory(&moto.url, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("listed no account"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn bad_inventory_settings_exit_2_naming_the_setting() {
    let run = |extra: &[(&str, &str)]| {
        let mut cmd = inventory_cmd("http://127.0.0.1:9", &[]);
        cmd.env_remove("FEDSYNC_SAML_CERTIFICATES");
        for (k, v) in extra {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    };
    let missing = run(&[]);
    assert_eq!(missing.status.code(), Some(2));
    assert!(
        stderr(&missing).contains("--saml-certificates"),
        "{}",
        stderr(&missing)
    );

    let sha1 = run(&[(
        "FEDSYNC_SAML_CERTIFICATES",
        "da39a3ee5e6b4b0d3255bfef95601890afd80709",
    )]);
    assert_eq!(sha1.status.code(), Some(2));
    assert!(
        stderr(&sha1).contains("not a SHA-256 thumbprint"),
        "{}",
        stderr(&sha1)
    );

    let bad_role = run(&[
        ("FEDSYNC_SAML_CERTIFICATES", org::OUR_CERT_SHA256),
        ("FEDSYNC_CROSS_ACCOUNT_ROLE", "a/b"),
    ]);
    assert_eq!(bad_role.status.code(), Some(2));
    // The problem names the setting and where its value came from: here the environment.
    assert!(
        stderr(&bad_role).contains("cross-account-role (from env FEDSYNC_CROSS_ACCOUNT_ROLE)"),
        "{}",
        stderr(&bad_role)
    );
}

#[test]
fn unreachable_aws_exits_1_with_one_clear_line() {
    let out = run_inventory("http://127.0.0.1:9", &[]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(err.contains("error: cannot read the inventory"), "{err}");
    crate::support::error_chain(&out);
    assert!(
        err.contains("cannot find out which AWS account fedsync runs in"),
        "{err}"
    );
}
