//! config: `fedsync config show` — every setting's effective value and source, checked as
//! `fedsync sync` would check them, the credential read too.
//!
//! Prints the table (or JSON) on stdout first, bad rows marked, then fails with every problem
//! (exit 2). Secrets print as `****`. Reads only; writes nothing.

use super::{Global, block_on, load_settings};
use crate::cli::{ConfigShowArgs, OutputFormat};
use crate::exit::{ExitStatus, Failure};
use crate::settings::{Problems, show};

pub fn show(args: &ConfigShowArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let inputs = global.inputs(args.settings.flags());
    let (settings, credential) = block_on(async {
        // One AWS config for SSM and Secrets Manager, loaded only when one of them is read.
        let mut sdk = None;
        if inputs.reads_ssm() {
            sdk = Some(crate::aws::load_config(&crate::aws::AwsOptions::default()).await);
        }
        let settings = load_settings(&inputs, sdk.as_ref()).await?;
        if settings.credential_reads_aws() && sdk.is_none() {
            sdk = Some(crate::aws::load_config(&crate::aws::AwsOptions::default()).await);
        }
        let credential = settings.credential(sdk.as_ref()).await;
        Ok::<_, Failure>((settings, credential))
    })??;

    let mut problems = match settings.sync_apps(&credential) {
        Ok(_) => Vec::new(),
        Err(Problems(problems)) => problems,
    };
    if let Err(Problems(more)) = settings.log_format() {
        for problem in more {
            if !problems.contains(&problem) {
                problems.push(problem);
            }
        }
    }
    let rows = show::rows(
        &settings,
        credential.as_ref().ok().and_then(Option::as_ref),
        &problems,
    );
    let rendered = match args.output {
        OutputFormat::Text => show::to_text(&rows),
        OutputFormat::Json => format!("{:#}\n", show::to_json(&rows)),
    };
    crate::printer::stdout(&rendered)?;
    if problems.is_empty() {
        Ok(ExitStatus::Success)
    } else {
        Err(Failure::invalid(Problems(problems)))
    }
}
