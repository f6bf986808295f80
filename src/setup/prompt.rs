//! prompt: the interactive questions of `fedsync setup` on a terminal (dialoguer, on stderr).
//!
//! Each answer is checked where it is entered and asked again with the reason when it is
//! wrong: files are parsed, the credential gets a token, the service principal is read, the
//! bucket is reached, the naming convention is parsed and previewed on a real account and role.
//! Current values (flags, variables, then the stored settings) are the defaults. The client
//! secret is read hidden and never echoed.

use std::path::PathBuf;

use aws_config::SdkConfig;
use dialoguer::{Confirm, Input, Password, Select};
use secrecy::SecretString;

use super::answers::{AppManifest, DEFAULT_SECRET_NAME, MetadataAnswer, NewCredential};
use super::draft::{CredentialAnswer, Draft};
use super::flow::SetupError;
use super::prove;
use super::store::Writes;
use crate::graph::{Cloud, GraphSettings};
use crate::model::RoleName;
use crate::naming::{NamingConvention, NamingInput};

fn io(e: dialoguer::Error) -> SetupError {
    let _ = e;
    SetupError::Cancelled
}

fn say(line: &str) {
    use std::io::Write as _;
    let _ = writeln!(std::io::stderr(), "{line}");
}

/// One line of text, with the current value as default and `check` run on each try.
fn text(
    prompt: &str,
    default: Option<&str>,
    check: impl Fn(&str) -> Result<(), String>,
) -> Result<String, SetupError> {
    let mut input = Input::<String>::new().with_prompt(prompt);
    if let Some(d) = default {
        input = input.default(d.to_owned());
    }
    input
        .validate_with(|s: &String| check(s.trim()))
        .interact_text()
        .map(|s| s.trim().to_owned())
        .map_err(io)
}

/// Asks every answer on the terminal, into `draft`.
pub async fn ask(draft: &mut Draft, sdk: &SdkConfig) -> Result<(), SetupError> {
    say("fedsync setup: answer each question; Enter keeps the value in brackets.");
    if draft.ssm_prefix.is_none() {
        let prefix = text("SSM prefix for the settings", Some("/fedsync/prod/"), |s| {
            if s.starts_with('/') {
                Ok(())
            } else {
                Err("must start with /".into())
            }
        })?;
        draft.ssm_prefix = Some(if prefix.ends_with('/') {
            prefix
        } else {
            format!("{prefix}/")
        });
    }
    let tenant = text(
        "Entra tenant id (GUID or domain)",
        draft.get("tenant-id"),
        |s| {
            let domain = s.contains('.') && !s.contains(char::is_whitespace);
            if uuid::Uuid::parse_str(s).is_ok() || domain {
                Ok(())
            } else {
                Err(format!(
                    "{s:?} is neither a GUID nor a domain name like contoso.onmicrosoft.com"
                ))
            }
        },
    )?;
    draft.set("tenant-id", tenant);
    let clouds = ["global", "usgov", "china"];
    let current = clouds
        .iter()
        .position(|c| Some(*c) == draft.get("cloud"))
        .unwrap_or(0);
    let cloud = Select::new()
        .with_prompt("Microsoft cloud")
        .items(clouds)
        .default(current)
        .interact()
        .map_err(io)?;
    draft.set("cloud", clouds[cloud]);
    let cloud: Cloud = clouds[cloud].parse().expect("a listed cloud parses");
    // The URLs follow the cloud unless a flag or variable set them (tests, sovereign proxies).
    let authority = draft.get("authority-url").map(str::to_owned);
    let graph_url = draft.get("graph-url").map(str::to_owned);

    let metadata = text(
        "Federation metadata XML file of the AWS app",
        draft
            .metadata
            .as_ref()
            .map(|m| m.path.to_str().unwrap_or_default()),
        |s| MetadataAnswer::read(&PathBuf::from(s)).map(|_| ()),
    )?;
    let metadata =
        MetadataAnswer::read(&PathBuf::from(metadata)).map_err(|e| invalid("saml-metadata", e))?;
    say(&metadata.summary(time::OffsetDateTime::now_utc()));
    draft.set_metadata(metadata);

    let client_id = text(
        "Sync app's application (client) id",
        draft.get("client-id"),
        guid,
    )?;
    draft.set("client-id", client_id.clone());
    let tenant_id = draft.get("tenant-id").unwrap_or_default().to_owned();
    let graph_settings = |credential| GraphSettings {
        tenant_id: tenant_id.clone(),
        client_id: client_id.clone(),
        credential,
        authority_url: authority
            .clone()
            .unwrap_or_else(|| cloud.authority_url().to_owned()),
        graph_url: graph_url
            .clone()
            .unwrap_or_else(|| cloud.graph_url().to_owned()),
    };
    let graph = loop {
        if draft.federated() {
            federation(draft, sdk)?;
            break None;
        }
        let mut kinds = vec![
            "client secret",
            "certificate and private key (PEM files)",
            "AWS outbound identity federation (no secret; recommended)",
        ];
        if matches!(draft.credential, Some(CredentialAnswer::Existing(_))) {
            kinds.push("keep the one stored in Secrets Manager");
        }
        let kind = Select::new()
            .with_prompt("Sync app credential")
            .items(&kinds)
            .default(0)
            .interact()
            .map_err(io)?;
        let answer = match kind {
            0 => {
                let secret = Password::new()
                    .with_prompt("Client secret (hidden)")
                    .interact()
                    .map_err(io)?;
                NewCredential::secret(SecretString::from(secret)).map(CredentialAnswer::New)
            }
            1 => {
                let cert = text("Certificate PEM file", None, |_| Ok(()))?;
                let key = text("Private key PEM file", None, |_| Ok(()))?;
                NewCredential::certificate(&PathBuf::from(cert), &PathBuf::from(key))
                    .map(CredentialAnswer::New)
            }
            2 => {
                draft.set("credential", "aws-federation");
                continue;
            }
            _ => Ok(draft.credential.clone().expect("offered only when stored")),
        };
        let answer = match answer {
            Ok(a) => a,
            Err(e) => {
                say(&format!("  {e}; try again"));
                continue;
            }
        };
        // A token proves the tenant, the client id and the credential together.
        let client = prove::client_for(graph_settings(answer.credential().clone()))
            .map_err(|p| invalid("credential", p.to_string()))?;
        match client.service_principal_of_app(&client_id).await {
            Ok(_) => {
                draft.credential = Some(answer);
                break Some(client);
            }
            Err(e) => say(&format!(
                "  no token for the sync app: {}; check the tenant, client id and credential",
                crate::error_text::chain(&e)
            )),
        }
    };
    if graph.is_some() {
        if draft.get("credentials-secret").is_none() {
            draft.set("credentials-secret", DEFAULT_SECRET_NAME);
        }
        let secret_name = text(
            "Secrets Manager secret for the credential",
            draft.get("credentials-secret"),
            |s| {
                if s.is_empty() {
                    Err("is empty".into())
                } else {
                    Ok(())
                }
            },
        )?;
        draft.set("credentials-secret", secret_name);
    }

    loop {
        let answer = text(
            "AWS app's service principal: object id, or the app manifest JSON file",
            draft.get("service-principal-id"),
            |_| Ok(()),
        )?;
        let id = if uuid::Uuid::parse_str(&answer).is_ok() {
            answer
        } else {
            let Some(graph) = &graph else {
                say(
                    "  with AWS outbound identity federation setup cannot sign in as the sync app before the task runs, so it cannot read an app manifest's service principal: give its object id",
                );
                continue;
            };
            match AppManifest::read(&PathBuf::from(&answer)) {
                Ok(manifest) => match graph.service_principal_of_app(&manifest.app_id).await {
                    Ok(Some(id)) => id.to_string(),
                    Ok(None) => {
                        say(&format!(
                            "  the tenant has no service principal for app {}; try again",
                            manifest.app_id
                        ));
                        continue;
                    }
                    Err(e) => {
                        say(&format!("  {}; try again", crate::error_text::chain(&e)));
                        continue;
                    }
                },
                Err(e) => {
                    say(&format!(
                        "  neither a GUID nor a readable app manifest: {e}; try again"
                    ));
                    continue;
                }
            }
        };
        let Some(graph) = &graph else {
            say(&format!(
                "  service principal {id} (not read: the task's first run signs in and reads it)"
            ));
            draft.set("service-principal-id", id);
            break;
        };
        match prove::service_principal(graph, &id).await {
            Ok(name) => {
                say(&format!(
                    "  service principal {id}: {}",
                    name.unwrap_or_default()
                ));
                draft.set("service-principal-id", id);
                break;
            }
            Err(p) => say(&format!("  {p}; try again")),
        }
    }

    let (active, management) = prove::organization(sdk)
        .await
        .map_err(|p| invalid("AWS credentials", p.to_string()))?;
    let sample_role = prove::sample_role(sdk).await;
    let account = active
        .iter()
        .find(|a| Some(&a.id) == management.as_ref())
        .or(active.first())
        .cloned();
    loop {
        let convention = text(
            "App role naming convention",
            draft.get("naming-convention"),
            |s| {
                s.parse::<NamingConvention>()
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            },
        )?;
        let naming: NamingConvention = convention
            .parse()
            .map_err(|e: crate::naming::NamingError| invalid("naming-convention", e.to_string()))?;
        if let Some(account) = &account {
            let role = match &sample_role {
                Some(r) if r.account() == &account.id => r.clone(),
                _ => format!("arn:aws:iam::{}:role/Admin", account.id)
                    .parse()
                    .expect("a valid ARN"),
            };
            let input = NamingInput {
                account_id: &account.id,
                account_name: &account.name,
                role: &role,
            };
            say(&format!("  preview: {}", naming.render(&input)));
        }
        if Confirm::new()
            .with_prompt("Use this convention?")
            .default(true)
            .interact()
            .map_err(io)?
        {
            draft.set("naming-convention", convention);
            break;
        }
    }
    let role = text(
        "Cross-account read role name",
        draft.get("cross-account-role"),
        |s| s.parse::<RoleName>().map(|_| ()).map_err(|e| e.to_string()),
    )?;
    draft.set("cross-account-role", role);

    let s3 = aws_sdk_s3::Client::new(sdk);
    loop {
        let bucket = text(
            "S3 bucket for backups and the StackSet files",
            draft.get("backup-bucket"),
            |_| Ok(()),
        )?;
        match prove::bucket(&s3, &bucket).await {
            Ok(()) => {
                draft.set("backup-bucket", bucket);
                break;
            }
            Err(p) => say(&format!("  {p}; try again")),
        }
    }
    let kms = Input::<String>::new()
        .with_prompt("KMS key id or ARN for the secret, SecureStrings and backups (empty: default encryption)")
        .default(draft.get("backup-kms-key").unwrap_or_default().to_owned())
        .allow_empty(true)
        .interact_text()
        .map_err(io)?;
    if kms.trim().is_empty() {
        draft.values.remove("backup-kms-key");
    } else {
        draft.set("backup-kms-key", kms.trim().to_owned());
    }
    for (name, prompt) in [
        ("create-groups", "Create one security group per role?"),
        ("assign-groups", "Assign each group to its app role?"),
    ] {
        let current = draft
            .get(name)
            .is_some_and(|v| v.eq_ignore_ascii_case("true"));
        let yes = Confirm::new()
            .with_prompt(prompt)
            .default(current)
            .interact()
            .map_err(io)?;
        draft.set(name, yes.to_string());
    }
    Ok(())
}

fn guid(s: &str) -> Result<(), String> {
    uuid::Uuid::parse_str(s)
        .map(|_| ())
        .map_err(|_| format!("{s:?} is not a GUID"))
}

fn invalid(answer: &str, message: String) -> SetupError {
    SetupError::Invalid(crate::settings::Problems(vec![
        crate::settings::Problem::new(answer, None, message),
    ]))
}

/// `credential aws-federation`: JWTs from STS instead of a secret; asks whether setup may enable
/// outbound identity federation in the account when it is off. A `credentials-secret` stored by
/// an earlier setup is deleted with the writes (listed before they are made).
fn federation(draft: &mut Draft, sdk: &SdkConfig) -> Result<(), SetupError> {
    say(
        "  AWS outbound identity federation: the task gets a short-lived JWT from AWS STS, which the sync app's federated credential trusts; no secret is stored",
    );
    draft
        .use_federated_credential(sdk)
        .map_err(|p| SetupError::Invalid(crate::settings::Problems(vec![p])))?;
    if draft.values.remove("credentials-secret").is_some() {
        draft.retired.push("credentials-secret");
    }
    draft.federation.may_enable = Confirm::new()
        .with_prompt(
            "If outbound identity federation is off in this AWS account, may setup enable it?",
        )
        .default(draft.federation.may_enable)
        .interact()
        .map_err(io)?;
    Ok(())
}

/// Shows the writes and asks to go on.
pub fn confirm(writes: &Writes) -> bool {
    say("fedsync setup will write:");
    for line in writes.describe().lines() {
        say(&format!("  {line}"));
    }
    Confirm::new()
        .with_prompt("Write these now?")
        .default(false)
        .interact()
        .unwrap_or(false)
}
