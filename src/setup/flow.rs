//! flow: one `fedsync setup` — answers (prompted on a terminal, else from flags and variables),
//! every answer checked, the answers proved against Entra and AWS, then the writes listed and
//! made (or only listed, with `--dry-run`).
//!
//! Nothing is written until every answer is valid and proved; a missing or wrong answer ends
//! with [`SetupError::Invalid`] (exit 2) naming each one.
//!
//! With `credential aws-federation` there is no secret: setup reads the account's outbound
//! identity federation (and enables it, first of the writes, when the admin agreed), prints the
//! federated credential the sync app needs (issuer, the task role as subject, audience), and
//! signs in through it only when it runs as the task role — otherwise the summary says that the
//! task's first run is the proof, and the service principal must be given by id.

use aws_config::SdkConfig;
use time::OffsetDateTime;

use super::answers::{DEFAULT_SECRET_NAME, MetadataAnswer};
use super::draft::{CredentialAnswer, Draft};
use super::prove::{self, FederationProof, Proven};
use super::render;
use super::store::{Object, Parameter, StoreError, Writes};
use crate::model::{AccountId, RoleArn};
use crate::naming::{NamingConvention, NamingInput};
use crate::settings::{Problem, Problems};

/// Key prefix of the StackSet files in the backup bucket.
pub const OBJECT_PREFIX: &str = "setup/";

/// How setup ended badly.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// Missing, invalid or unproved answers; nothing was written.
    #[error("{0}\nnothing was written")]
    Invalid(Problems),
    #[error(transparent)]
    Render(#[from] render::RenderError),
    /// A write failed midway; earlier writes stand and a rerun overwrites them.
    #[error("setup stopped; what was written before stays, and running setup again overwrites it")]
    Store(#[from] StoreError),
    #[error("setup was cancelled; nothing was written")]
    Cancelled,
}

fn invalid(problems: Vec<Problem>) -> SetupError {
    SetupError::Invalid(Problems(problems))
}

/// What setup did, for the summary.
#[derive(Debug)]
pub struct Outcome {
    pub writes: Writes,
    pub written: bool,
    pub preview: Option<String>,
    pub template_key: String,
    pub accounts_key: String,
    /// With `credential aws-federation`: what the sync app's federated credential must name.
    pub federation: Option<FederationProof>,
    /// The client id, for the `az` command that creates the federated credential.
    pub client_id: String,
}

/// The shell around the answers: where AWS is, and how to ask.
pub struct Context<'a> {
    pub sdk: &'a SdkConfig,
    pub s3: &'a aws_sdk_s3::Client,
    pub dry_run: bool,
    /// Asks for confirmation before writing; none writes without asking (`--yes`).
    pub confirm: Option<&'a dyn Fn(&Writes) -> bool>,
}

/// Checks, proves and (unless dry-run) stores the draft.
pub async fn finish(mut draft: Draft, ctx: &Context<'_>) -> Result<Outcome, SetupError> {
    if !draft.federated() && draft.get("credentials-secret").is_none() {
        draft.set("credentials-secret", DEFAULT_SECRET_NAME);
    }
    let missing = draft.missing();
    if !missing.is_empty() {
        return Err(invalid(missing));
    }
    let federation = match draft.federated() {
        true => Some(
            prove::federation(ctx.sdk, &draft)
                .await
                .map_err(|p| invalid(vec![p]))?,
        ),
        false => None,
    };
    let signs_in = federation.as_ref().is_none_or(FederationProof::can_sign_in);
    if !signs_in && draft.get("service-principal-id").is_none() {
        let f = federation
            .as_ref()
            .expect("only a federated setup cannot sign in");
        return Err(invalid(vec![Problem::new(
            "service-principal-id",
            None,
            format!(
                "required with credential aws-federation: setup cannot sign in as the sync app (it runs as {}, not as the task role {}), so it cannot look up the app manifest's service principal; give --service-principal-id",
                f.caller, f.subject
            ),
        )]));
    }
    // The Graph answers first: with a manifest, the service principal id comes from Graph.
    if draft.get("service-principal-id").is_none() {
        draft.set(
            "service-principal-id",
            "00000000-0000-0000-0000-000000000000",
        );
        let settings = draft.check().map_err(SetupError::Invalid)?;
        draft.values.remove("service-principal-id");
        let graph = prove::graph_client(&settings).map_err(|p| invalid(vec![p]))?;
        prove::resolve_service_principal(&graph, &mut draft)
            .await
            .map_err(|p| invalid(vec![p]))?;
    }
    let settings = draft.check().map_err(SetupError::Invalid)?;
    let proven = prove_all(&settings, signs_in, ctx).await?;

    let metadata = draft.metadata.as_ref().expect("missing() checked it");
    let document = render::trimmed_metadata(&metadata.metadata)?;
    let template = render::render_template(render::SAML_ROLES_TEMPLATE, &document)?;
    let active: Vec<AccountId> = proven.active.iter().map(|a| a.id).collect();
    let accounts = render::accounts_json(&active, proven.management.as_ref());
    // Each app's metadata goes to its own OUs: a named app's StackSet files are its own.
    let objects = match &draft.app {
        Some(app) => format!("{OBJECT_PREFIX}apps/{app}/"),
        None => OBJECT_PREFIX.to_owned(),
    };
    let template_key = format!("{objects}saml-roles.yaml");
    let accounts_key = format!("{objects}accounts.json");

    let prefix = draft.ssm_prefix.clone().expect("missing() checked it");
    let parameters = draft
        .stored()
        .into_iter()
        .map(|(name, value)| Parameter {
            name: format!("{prefix}{}", draft.parameter_name(name)),
            value: value.to_owned(),
            // The external id is the one stored value that works like a shared secret.
            secure: name == "external-id",
        })
        .collect();
    let secret = match &draft.credential {
        Some(CredentialAnswer::New(c)) => Some((
            draft
                .get("credentials-secret")
                .unwrap_or(DEFAULT_SECRET_NAME)
                .to_owned(),
            c.clone(),
        )),
        _ => None,
    };
    let deleted_parameters = draft
        .retired
        .iter()
        .map(|name| format!("{prefix}{}", draft.parameter_name(name)))
        .collect();
    let writes = Writes {
        enable_outbound_federation: federation
            .as_ref()
            .filter(|f| f.issuer.is_none())
            .map(|f| f.account.clone()),
        secret,
        parameters,
        deleted_parameters,
        bucket: settings.backup.bucket.clone(),
        objects: vec![
            Object {
                key: template_key.clone(),
                body: template,
                content_type: "application/yaml",
            },
            Object {
                key: accounts_key.clone(),
                body: accounts,
                content_type: "application/json",
            },
        ],
        kms_key: settings.backup.kms_key.clone(),
    };
    let preview = preview(&settings.plan.naming, &proven, ctx.sdk).await;
    let mut outcome = Outcome {
        writes,
        written: false,
        preview,
        template_key,
        accounts_key,
        federation,
        client_id: settings.client_id.clone(),
    };
    if ctx.dry_run {
        return Ok(outcome);
    }
    if let Some(confirm) = ctx.confirm
        && !confirm(&outcome.writes)
    {
        return Err(SetupError::Cancelled);
    }
    let issuer = outcome.writes.apply(ctx.sdk, ctx.s3).await?;
    if let (Some(f), Some(issuer)) = (outcome.federation.as_mut(), issuer) {
        f.issuer = Some(issuer);
    }
    outcome.written = true;
    Ok(outcome)
}

/// Every proof; all problems at once where they are independent. Without `signs_in` (a
/// federated setup that is not the task role) Graph is not asked.
async fn prove_all(
    settings: &crate::settings::SyncSettings,
    signs_in: bool,
    ctx: &Context<'_>,
) -> Result<Proven, SetupError> {
    let mut problems = Vec::new();
    let mut name = None;
    match prove::graph_client(settings) {
        Ok(graph) if signs_in => {
            match prove::service_principal(&graph, &settings.service_principal_id).await {
                Ok(n) => name = n,
                Err(p) => problems.push(p),
            }
        }
        Ok(_) => {}
        Err(p) => problems.push(p),
    }
    let org = prove::organization(ctx.sdk).await;
    if let Err(p) = prove::bucket(ctx.s3, &settings.backup.bucket).await {
        problems.push(p);
    }
    match org {
        Ok((active, management)) if problems.is_empty() => Ok(Proven {
            service_principal_name: name,
            active,
            management,
        }),
        Ok(_) => Err(invalid(problems)),
        Err(p) => {
            problems.push(p);
            Err(invalid(problems))
        }
    }
}

/// The naming convention applied to one real account and role: the management account (else
/// the first active one) and a role of the account setup runs in.
pub async fn preview(
    naming: &NamingConvention,
    proven: &Proven,
    sdk: &SdkConfig,
) -> Option<String> {
    let account = proven
        .active
        .iter()
        .find(|a| Some(&a.id) == proven.management.as_ref())
        .or(proven.active.first())?;
    let role: RoleArn = match prove::sample_role(sdk).await {
        Some(role) if role.account() == &account.id => role,
        _ => format!("arn:aws:iam::{}:role/Admin", account.id)
            .parse()
            .ok()?,
    };
    let input = NamingInput {
        account_id: &account.id,
        account_name: &account.name,
        role: &role,
    };
    Some(format!(
        "{} (account {} {:?}, role {})",
        naming.render(&input),
        account.id,
        account.name,
        role
    ))
}

/// The summary printed on stdout after a run (or a dry run).
pub fn summary(
    outcome: &Outcome,
    metadata: Option<&MetadataAnswer>,
    now: OffsetDateTime,
) -> String {
    let mut out = String::new();
    if let Some(m) = metadata {
        out.push_str(&format!("federation metadata {}:\n", m.path.display()));
        for line in m.summary(now).lines() {
            out.push_str(&format!("  {line}\n"));
        }
    }
    if let Some(preview) = &outcome.preview {
        out.push_str(&format!("naming preview: {preview}\n"));
    }
    if let Some(f) = &outcome.federation {
        out.push_str(&federated_credential(f, &outcome.client_id));
    }
    out.push_str(if outcome.written {
        "fedsync setup wrote:\n"
    } else {
        "fedsync setup would write (dry run; nothing written):\n"
    });
    for line in outcome.writes.describe().lines() {
        out.push_str(&format!("  {line}\n"));
    }
    let bucket = &outcome.writes.bucket;
    out.push_str(&format!(
        "\nNext: deploy the SAML provider and roles with StackSets (see README, \"Deploying to AWS\"):\n\
         \x20 aws s3 cp s3://{bucket}/{accounts} accounts.json\n\
         \x20 aws cloudformation update-stack-set --stack-set-name fedsync-saml-roles \\\n\
         \x20   --template-url https://{bucket}.s3.amazonaws.com/{template} --capabilities CAPABILITY_NAMED_IAM\n\
         \x20 (first time: create-stack-set with the same --template-url, then\n\
         \x20  create-stack-instances --stack-set-name fedsync-saml-roles --accounts file://accounts.json --regions <region>)\n\
         Then check the settings: fedsync config show --ssm-prefix {prefix}\n",
        accounts = outcome.accounts_key,
        template = outcome.template_key,
        prefix = outcome
            .writes
            .parameters
            .first()
            .and_then(|p| p.name.rsplit_once('/').map(|(prefix, _)| format!("{prefix}/")))
            .unwrap_or_default(),
    ));
    out
}

/// The sync app's federated credential, to create once (by hand: setup holds no credential that
/// may change an app registration), and what was proved.
/// The issuer is unknown only before the enabling write (a dry run): a write that enables
/// federation always gives it.
fn federated_credential(f: &FederationProof, client_id: &str) -> String {
    let issuer = f.issuer.clone().unwrap_or_else(|| {
        format!(
            "(known once outbound identity federation is enabled in account {})",
            f.account
        )
    });
    let parameters = serde_json::json!({
        "name": prove::DEFAULT_TASK_ROLE_NAME,
        "issuer": issuer,
        "subject": f.subject,
        "audiences": [f.audience],
    });
    let proof = if f.can_sign_in() {
        "proved: setup runs as the task role and signed in to Entra with a JWT from AWS STS"
            .to_owned()
    } else if f.issuer.is_none() {
        "not proved yet: outbound identity federation was off; the task's first `fedsync sync --dry-run` proves it".to_owned()
    } else {
        format!(
            "not proved yet: setup runs as {}, not as the task role, so Entra would refuse its JWT; the task's first `fedsync sync --dry-run` proves it",
            f.caller
        )
    };
    format!(
        "credential aws-federation (no secret): the sync app needs this federated credential (create it once, if it is not there yet):\n\
         \x20 issuer   {issuer}\n\
         \x20 subject  {subject}\n\
         \x20 audience {audience}\n\
         \x20 az ad app federated-credential create --id {client_id} --parameters '{parameters}'\n\
         \x20 {proof}\n",
        subject = f.subject,
        audience = f.audience,
    )
}
