//! explain: `fedsync explain ROLE-ARN | ACCOUNT-ID` — reads the account as the inventory does and
//! prints why each provider and role gets its verdict, and with several apps which app each
//! provider (and so each role it lets in) belongs to. Reads only.

use anyhow::anyhow;

use super::{Global, block_on, load_settings};
use crate::aws::explain::{ExplainError, Target, explain};
use crate::aws::{self, AwsOptions};
use crate::cli::{ExplainArgs, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::settings::Flags;

pub fn run(args: &ExplainArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let target = parse_target(&args.target)?;
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    let inputs = global.inputs(flags);
    let options = AwsOptions::default();
    let explained = block_on(async {
        let sdk = aws::load_config(&options).await;
        let loaded = load_settings(&inputs, Some(&sdk)).await?;
        let settings = loaded.inventory().map_err(Failure::invalid)?;
        let mut explained =
            explain(&sdk, &settings, &options, &target)
                .await
                .map_err(|e| match e {
                    ExplainError::NoSuchRole { .. } => Failure::invalid(e),
                    other => Failure::from(other),
                })?;
        if loaded.app_names().len() > 1 {
            let apps = loaded
                .per_app(|app| app.inventory().map(|i| i.saml_certificates))
                .map_err(Failure::invalid)?;
            crate::explain::name_apps(&mut explained, &apps);
        }
        Ok::<_, Failure>(explained)
    })??;
    let rendered = match args.output {
        OutputFormat::Text => crate::explain::to_text(&explained),
        OutputFormat::Json => format!("{:#}\n", crate::explain::to_json(&explained)),
    };
    crate::printer::stdout(&rendered)?;
    Ok(ExitStatus::Success)
}

/// A role ARN or a 12-digit account id; exit 2 naming the input otherwise.
fn parse_target(text: &str) -> Result<Target, Failure> {
    let text = text.trim();
    if text.starts_with("arn:") {
        return text
            .parse()
            .map(Target::Role)
            .map_err(|e| Failure::invalid(anyhow!("explain {text:?}: {e}")));
    }
    text.parse().map(Target::Account).map_err(|_| {
        Failure::invalid(anyhow!(
            "explain {text:?}: neither a role ARN (arn:aws:iam::123456789012:role/Name) nor an account id (12 digits)"
        ))
    })
}
