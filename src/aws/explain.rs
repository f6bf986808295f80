//! explain: the AWS reads behind `fedsync explain` — where the account stands in the
//! Organization and the settings, its SAML providers, and one role (found by `ListRoles` under
//! its path, so the reader role needs no more than the inventory does) or every role of the
//! account that concerns SAML. Reads only; the decisions and the explanation are the pure
//! core's ([`crate::trust::judge`], [`crate::explain`]).

use aws_config::SdkConfig;

use super::InventorySettings;
use super::account::{
    AccountContext, ProviderRead, StageError, account_iam, each_role, iam_client, read_providers,
};
use super::config::AwsOptions;
use super::inventory::{ReadError, identity};
use super::organization::{self, Listing};
use crate::explain::{Explanation, ProviderExplained, RoleExplained, Standing};
use crate::model::{AccountId, RoleArn};
use crate::trust::{self, AskedProvider};

/// What to explain.
#[derive(Clone, Debug)]
pub enum Target {
    Role(RoleArn),
    Account(AccountId),
}

impl Target {
    fn account(&self) -> &AccountId {
        match self {
            Target::Role(arn) => arn.account(),
            Target::Account(id) => id,
        }
    }
}

/// Why there is nothing to explain.
#[derive(Debug, thiserror::Error)]
pub enum ExplainError {
    #[error(transparent)]
    Read(#[from] ReadError),
    #[error("cannot read account {account} at {}: {}", .error.stage, .error.reason)]
    Account {
        account: AccountId,
        error: StageError,
    },
    #[error("account {account} has no role {role} (ListRoles under the path {path})")]
    NoSuchRole {
        account: AccountId,
        role: RoleArn,
        path: String,
    },
}

/// Reads what `target` needs and explains it.
pub async fn explain(
    sdk: &SdkConfig,
    settings: &InventorySettings,
    options: &AwsOptions,
    target: &Target,
) -> Result<Explanation, ExplainError> {
    let sts = aws_sdk_sts::Client::new(sdk);
    let (home, partition) = identity(&sts).await?;
    let account_id = target.account();
    let organizations = aws_sdk_organizations::Client::new(sdk);
    let (standing, name) = match organization::list_accounts(&organizations)
        .await
        .map_err(ReadError::from)?
    {
        Listing::NotInOrganization => (Standing::OutsideOrganization, None),
        Listing::Organization(accounts) => {
            let name = accounts
                .iter()
                .find(|a| &a.id == account_id)
                .map(|a| a.name.clone());
            let (read, skipped) = organization::select(
                accounts,
                &settings.include_accounts,
                &settings.exclude_accounts,
            );
            let standing = if read.iter().any(|a| &a.id == account_id) {
                Standing::Read
            } else if let Some((account, reason)) =
                skipped.into_iter().find(|(a, _)| &a.id == account_id)
            {
                Standing::Skipped {
                    reason,
                    state: account.state,
                }
            } else {
                Standing::NotListed
            };
            (standing, name)
        }
    };

    let iam = iam_client(
        sdk,
        &Default::default(),
        &aws_sdk_iam::config::retry::RetryPartition::new("fedsync-explain"),
    );
    let ctx = AccountContext {
        sts: &sts,
        iam: &iam,
        partition,
        home_account: &home,
        settings,
        options,
    };
    let failed = |error: StageError| ExplainError::Account {
        account: *account_id,
        error,
    };
    let iam = account_iam(&ctx, account_id).await.map_err(failed)?;
    let providers: Vec<ProviderRead> = read_providers(&iam, settings).await.map_err(failed)?;
    let asked: Vec<AskedProvider> = providers.iter().filter_map(ProviderRead::asked).collect();

    let path = match target {
        Target::Role(arn) => Some(arn.path().to_owned()),
        Target::Account(_) => None,
    };
    let mut roles = Vec::new();
    each_role(&iam, path.as_deref(), options, |listed| {
        let Ok(arn) = listed.arn.parse::<RoleArn>() else {
            return;
        };
        if let Target::Role(wanted) = target
            && wanted != &arn
        {
            return;
        }
        let (record, evaluation) = trust::judge(
            &arn,
            listed.document.as_deref(),
            &asked,
            &settings.saml_audiences,
            true,
        );
        let concerns = record.is_some() || evaluation.mentions_saml;
        if matches!(target, Target::Role(_)) || concerns {
            roles.push(RoleExplained::new(&arn, record.as_ref(), &evaluation));
        }
    })
    .await
    .map_err(failed)?;
    if let (Target::Role(role), true) = (target, roles.is_empty()) {
        return Err(ExplainError::NoSuchRole {
            account: *account_id,
            role: role.clone(),
            path: path.unwrap_or_default(),
        });
    }
    roles.sort_by(|a, b| a.arn.cmp(&b.arn));
    Ok(Explanation {
        account: *account_id,
        name,
        standing,
        providers: providers
            .iter()
            .map(|p| ProviderExplained::new(&p.arn, &p.matched))
            .collect(),
        roles,
    })
}
