//! setup: `fedsync setup` — gathers the answers (prompts on a terminal, else flags and
//! `FEDSYNC_*` variables with `--yes`), hands them to [`crate::setup::flow`], prints the summary.
//!
//! Exit 0 when written (or, with `--dry-run`, when all answers were proved), 2 when an answer is
//! missing, invalid or does not work (nothing written), 1 when a write failed midway.

use std::io::IsTerminal;

use secrecy::SecretString;

use super::{Global, block_on, load_settings};
use crate::cli::SetupArgs;
use crate::exit::{ExitStatus, Failure};
use crate::model::AppName;
use crate::settings::{Problem, Problems};
use crate::setup::answers::{AppManifest, MetadataAnswer, NewCredential};
use crate::setup::draft::{CredentialAnswer, Draft, FederationAnswer};
use crate::setup::flow::{self, Context, SetupError};

pub fn run(args: &SetupArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let interactive = !args.yes && std::io::stdin().is_terminal();
    if !interactive && !args.yes && !args.dry_run {
        return Err(Failure::invalid(anyhow::anyhow!(
            "stdin is not a terminal, so setup cannot ask: give every answer as a flag or FEDSYNC_* variable and pass --yes (or --dry-run to check them)"
        )));
    }
    let inputs = global.inputs(args.settings.flags());
    block_on(async {
        let sdk = crate::aws::load_config(&crate::aws::AwsOptions::default()).await;
        let s3 = aws_sdk_s3::Client::new(&sdk);
        let settings = load_settings(&inputs, Some(&sdk)).await?;
        let mut problems: Vec<Problem> = settings.source_problems().to_vec();
        let (settings, given) = match args.settings.entra.app.as_deref() {
            None => (settings, None),
            Some(app) => {
                let name: AppName = app
                    .parse()
                    .map_err(|e| Failure::invalid(anyhow::anyhow!("--app: {e}")))?;
                (settings.view_of(&name), Some(settings))
            }
        };
        let mut draft = Draft::from_settings(&settings);
        if let Some(given) = &given {
            draft.take_app_answers(given);
        }

        if let Some(path) = &args.saml_metadata {
            match MetadataAnswer::read(path) {
                Ok(m) => draft.set_metadata(m),
                Err(e) => problems.push(Problem::new("saml-metadata", None, e)),
            }
        }
        if let Some(path) = &args.app_manifest {
            match AppManifest::read(path) {
                Ok(m) => {
                    draft.manifest = Some(m);
                    if args.settings.entra.service_principal_id.is_none() {
                        // The manifest is this run's answer; a stored id is not.
                        draft.values.remove("service-principal-id");
                    }
                }
                Err(e) => problems.push(Problem::new("app-manifest", None, e)),
            }
        }
        draft.federation = FederationAnswer {
            task_role: args.task_role_arn.clone(),
            may_enable: args.enable_outbound_federation,
        };
        let new_credential = match (&args.certificate_pem, &args.private_key_pem) {
            _ if draft.federated() => {
                federated_answer(&settings, &sdk, &mut draft, &mut problems);
                None
            }
            (Some(cert), Some(key)) => Some(NewCredential::certificate(cert, key)),
            _ => settings
                .get("client-secret")
                .and_then(|r| r.value.as_ref())
                .map(|v| NewCredential::secret(SecretString::from(v.expose().to_owned()))),
        };
        match new_credential {
            Some(Ok(c)) => draft.credential = Some(CredentialAnswer::New(c)),
            Some(Err(e)) => problems.push(Problem::new("credential", None, e)),
            // A rerun keeps the credential already in the secret.
            None if settings.credential_reads_aws() && !draft.federated() => {
                match settings.credential(Some(&sdk)).await {
                    Ok(Some(existing)) => {
                        draft.credential = Some(CredentialAnswer::Existing(existing.credential))
                    }
                    Ok(None) => {}
                    Err(p) => problems.push(p),
                }
            }
            None => {}
        }

        if interactive {
            crate::setup::prompt::ask(&mut draft, &sdk)
                .await
                .map_err(map_error)?;
        } else if !problems.is_empty() {
            problems.extend(draft.missing());
            return Err(Failure::invalid(Problems(problems)));
        }

        let confirm = |writes: &crate::setup::store::Writes| crate::setup::prompt::confirm(writes);
        let ctx = Context {
            sdk: &sdk,
            s3: &s3,
            dry_run: args.dry_run,
            confirm: if interactive { Some(&confirm) } else { None },
        };
        let metadata = draft.metadata.clone();
        let outcome = flow::finish(draft, &ctx).await.map_err(map_error)?;
        let summary = flow::summary(&outcome, metadata.as_ref(), time::OffsetDateTime::now_utc());
        crate::printer::stdout(&summary)?;
        Ok(ExitStatus::Success)
    })?
}

/// `credential aws-federation`: JWTs from STS are the credential; no secret may be given, and a
/// `credentials-secret` stored by an earlier setup is deleted with the other writes.
fn federated_answer(
    settings: &crate::settings::Settings,
    sdk: &aws_config::SdkConfig,
    draft: &mut Draft,
    problems: &mut Vec<Problem>,
) {
    for secret in ["client-secret", "credentials-secret"] {
        let Some(r) = settings.get(secret).filter(|r| r.value.is_some()) else {
            continue;
        };
        if matches!(r.source, crate::settings::Source::Ssm { .. }) {
            draft.values.remove(secret);
            draft.retired.push(r.setting.name);
        } else {
            problems.push(Problem::new(
                secret,
                Some(r.source.clone()),
                "is given, but credential is aws-federation, which uses no secret: leave it out (or choose another credential)",
            ));
        }
    }
    if let Err(p) = draft.use_federated_credential(sdk) {
        problems.push(p);
    }
}

fn map_error(e: SetupError) -> Failure {
    match e {
        SetupError::Invalid(_) | SetupError::Cancelled => Failure::invalid(e),
        other => Failure::from(other),
    }
}
