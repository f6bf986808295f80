//! prove: before anything is stored, show that the answers work — a token for the sync app, the
//! AWS app's service principal read with it, the Organization's accounts listed, the backup
//! bucket reachable — and name the answer that is wrong when one is not.
//!
//! Reads only. Each failure becomes a [`Problem`] on the answer to fix.

use aws_config::SdkConfig;

use super::draft::Draft;
use crate::aws::error::describe;
use crate::aws::organization::{Listing, OrgAccount, list_accounts};
use crate::graph::{GraphClient, GraphError, GraphSettings, RetryPolicy};
use crate::model::AccountId;
use crate::settings::Problem;
use crate::settings::SyncSettings;

/// What the proofs found, for the preview and the StackSet files.
#[derive(Debug)]
pub struct Proven {
    pub service_principal_name: Option<String>,
    pub active: Vec<OrgAccount>,
    /// The account setup runs in (the Organization's management account, normally).
    pub management: Option<AccountId>,
}

/// A Graph client for the draft's Entra answers.
pub fn graph_client(settings: &SyncSettings) -> Result<GraphClient, Problem> {
    GraphClient::new(settings.graph(), quick_policy())
        .map_err(|e| Problem::new("credential", None, format!("cannot be used: {e}")))
}

/// Fewer, shorter retries than a run: an admin is waiting for the answer.
fn quick_policy() -> RetryPolicy {
    RetryPolicy {
        max_attempts: 2,
        ..RetryPolicy::default()
    }
}

/// The Graph client for an answer that is being entered, to check it at the prompt.
pub fn client_for(graph: GraphSettings) -> Result<GraphClient, Problem> {
    GraphClient::new(graph, quick_policy())
        .map_err(|e| Problem::new("credential", None, format!("cannot be used: {e}")))
}

/// Resolves the app manifest's service principal into `service-principal-id`, when the draft
/// has a manifest and no id.
pub async fn resolve_service_principal(
    graph: &GraphClient,
    draft: &mut Draft,
) -> Result<(), Problem> {
    if draft.get("service-principal-id").is_some() {
        return Ok(());
    }
    let Some(manifest) = &draft.manifest else {
        return Ok(());
    };
    match graph.service_principal_of_app(&manifest.app_id).await {
        Ok(Some(id)) => {
            draft.set("service-principal-id", id.to_string());
            Ok(())
        }
        Ok(None) => Err(Problem::new(
            "app-manifest",
            None,
            format!(
                "the tenant has no service principal for app {}: add the AWS app under Enterprise applications first",
                manifest.app_id
            ),
        )),
        Err(e) => Err(graph_problem(e, "app-manifest")),
    }
}

/// The service principal's display name, read with a fresh token.
pub async fn service_principal(graph: &GraphClient, id: &str) -> Result<Option<String>, Problem> {
    match graph.service_principal(id).await {
        Ok((raw, _)) => Ok(raw
            .get("displayName")
            .and_then(|v| v.as_str())
            .map(str::to_owned)),
        Err(e) => Err(graph_problem(e, "service-principal-id")),
    }
}

/// A Graph failure as a problem on the answer that is wrong: the token on the tenant, the app
/// and its credential; a missing object on `answer`.
fn graph_problem(e: GraphError, answer: &str) -> Problem {
    match &e {
        GraphError::Auth(_) => Problem::new(
            "credential",
            None,
            format!(
                "no token for the sync app: check tenant-id, client-id and the client secret or certificate ({})",
                crate::error_text::chain(&e)
            ),
        ),
        GraphError::Api(api) if api.status == 404 => Problem::new(
            answer,
            None,
            format!("not found in the tenant: {}", crate::error_text::chain(&e)),
        ),
        GraphError::Api(api) if api.status == 401 || api.status == 403 => Problem::new(
            answer,
            None,
            format!(
                "the sync app may not read it; make it an owner of the AWS app's service principal ({})",
                crate::error_text::chain(&e)
            ),
        ),
        _ => Problem::new(answer, None, crate::error_text::chain(&e)),
    }
}

/// The Organization's active accounts and the management account.
pub async fn organization(
    sdk: &SdkConfig,
) -> Result<(Vec<OrgAccount>, Option<AccountId>), Problem> {
    let client = aws_sdk_organizations::Client::new(sdk);
    let aws = |message: String| Problem::new("AWS credentials", None, message);
    let accounts = match list_accounts(&client).await {
        Ok(Listing::Organization(accounts)) => accounts,
        Ok(Listing::NotInOrganization) => {
            return Err(aws(
                "the account they belong to is in no AWS Organization; run setup with the management account's credentials".into(),
            ));
        }
        Err(e) => return Err(aws(e.to_string())),
    };
    let management = client
        .describe_organization()
        .send()
        .await
        .ok()
        .and_then(|o| o.organization()?.master_account_id()?.parse().ok());
    Ok((
        accounts.into_iter().filter(OrgAccount::is_active).collect(),
        management,
    ))
}

/// The bucket exists and these credentials reach it.
pub async fn bucket(s3: &aws_sdk_s3::Client, bucket: &str) -> Result<(), Problem> {
    s3.head_bucket()
        .bucket(bucket)
        .send()
        .await
        .map(|_| ())
        .map_err(|e| {
            let reason = match e.raw_response().map(|r| r.status().as_u16()) {
                Some(404) => "no such bucket".to_owned(),
                Some(403) => "access denied".to_owned(),
                _ => describe(&e),
            };
            Problem::new(
                "backup-bucket",
                None,
                format!("cannot reach s3://{bucket}: {reason}"),
            )
        })
}

/// The name of one real role of the account setup runs in, for the naming preview: the first
/// that is not a service-linked role.
pub async fn sample_role(sdk: &SdkConfig) -> Option<crate::model::RoleArn> {
    let iam = aws_sdk_iam::Client::new(sdk);
    let page = iam.list_roles().max_items(100).send().await.ok()?;
    page.roles()
        .iter()
        .find(|r| !r.path().starts_with("/aws-service-role/"))
        .and_then(|r| r.arn().parse().ok())
}
