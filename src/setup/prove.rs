//! prove: before anything is stored, show that the answers work — a token for the sync app, the
//! AWS app's service principal read with it, the Organization's accounts listed, the backup
//! bucket reachable; with `credential aws-federation`, the account's outbound identity
//! federation and who setup runs as — and name the answer that is wrong when one is not.
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
                "no token for the sync app: check tenant-id, client-id and the client secret, certificate or federated credential ({})",
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

/// `credential aws-federation`, as far as setup can see it before the task runs.
#[derive(Clone, Debug)]
pub struct FederationProof {
    /// The account setup runs in, whose issuer signs the task's JWTs.
    pub account: String,
    /// The account's issuer URL; `None` while outbound identity federation is off.
    pub issuer: Option<String>,
    /// The federated credential's subject: the role the task runs as.
    pub subject: String,
    pub audience: String,
    /// What setup runs as, as a JWT's subject.
    pub caller: String,
}

impl FederationProof {
    /// Setup runs as the task role and federation is on: a token proves the whole chain now.
    pub fn can_sign_in(&self) -> bool {
        self.issuer.is_some() && self.caller == self.subject
    }
}

/// The task role's name in `cfn/environment.yaml` with its default `Name`.
pub const DEFAULT_TASK_ROLE_NAME: &str = "fedsync-task";

/// Reads who setup runs as and the account's outbound identity federation. Off, and the admin
/// did not agree to enable it: a problem naming both ways to turn it on.
pub async fn federation(sdk: &SdkConfig, draft: &Draft) -> Result<FederationProof, Problem> {
    let aws = |message: String| Problem::new("AWS credentials", None, message);
    let caller = aws_sdk_sts::Client::new(sdk)
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            aws(format!(
                "cannot tell who they are (sts:GetCallerIdentity): {}",
                describe(&e)
            ))
        })?;
    let (Some(account), Some(arn)) = (caller.account(), caller.arn()) else {
        return Err(aws(
            "sts:GetCallerIdentity answered without an account".into()
        ));
    };
    let partition = arn.split(':').nth(1).unwrap_or("aws");
    let subject = match &draft.federation.task_role {
        Some(role) => {
            let parsed: crate::model::RoleArn = role.parse().map_err(|e| {
                Problem::new(
                    "task-role-arn",
                    None,
                    format!("{role:?} is not an IAM role ARN: {e}"),
                )
            })?;
            if parsed.account().to_string() != account {
                return Err(Problem::new(
                    "task-role-arn",
                    None,
                    format!(
                        "{role} is in another account than the one setup runs in ({account}), whose issuer would sign its JWTs; run setup with that account's credentials"
                    ),
                ));
            }
            role.clone()
        }
        None => format!("arn:{partition}:iam::{account}:role/{DEFAULT_TASK_ROLE_NAME}"),
    };
    let audience = draft.federation_audience()?;
    let issuer = super::outbound::issuer(&aws_sdk_iam::Client::new(sdk))
        .await
        .map_err(|e| Problem::new("credential", None, e))?;
    if issuer.is_none() && !draft.federation.may_enable {
        return Err(Problem::new(
            "credential",
            None,
            format!(
                "is aws-federation, but AWS outbound identity federation is off in account {account}: pass --enable-outbound-federation to let setup enable it (iam:EnableOutboundWebIdentityFederation), or enable it yourself with `aws iam enable-outbound-web-identity-federation`"
            ),
        ));
    }
    Ok(FederationProof {
        account: account.to_owned(),
        issuer,
        subject,
        audience,
        caller: crate::aws::federation::subject_of(arn),
    })
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
