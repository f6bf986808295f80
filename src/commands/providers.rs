//! providers: `fedsync providers` — read the AWS side as `inventory` does and print every
//! account's SAML providers as a certificate rotation sees them ([`crate::providers`]), as
//! text or as `fedsync.providers/v1` JSON. Reads only.

use std::fmt::Write as _;

use anyhow::Context;
use time::OffsetDateTime;

use super::{Global, block_on, chosen_apps, load_settings};
use crate::aws::inventory::Quiet;
use crate::aws::{self, AwsOptions};
use crate::cli::{OutputFormat, ProvidersArgs};
use crate::exit::{ExitStatus, Failure};
use crate::model::AppName;
use crate::providers::{
    AccountState, AppCertificates, CertificateStatus, ProviderKind, ProvidersReport, report,
};
use crate::settings::{Flags, Settings};

pub fn run(args: &ProvidersArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let mut flags = Flags::default();
    args.aws.add_to(&mut flags);
    let inputs = global.inputs(flags);
    let options = AwsOptions::default();
    let (inventory, apps, only) = block_on(async {
        let sdk = aws::load_config(&options).await;
        let settings = load_settings(&inputs, Some(&sdk)).await?;
        let apps = every_app(&settings)?;
        let only: Option<AppName> = match &args.app {
            Some(app) => chosen_apps(&settings, Some(app))?.pop(),
            None => None,
        };
        let inventory_settings = settings.inventory().map_err(Failure::invalid)?;
        let inventory = aws::read_inventory(&sdk, &inventory_settings, &options, &Quiet)
            .await
            .context("cannot read the inventory")
            .map_err(Failure::from)?;
        Ok::<_, Failure>((inventory, apps, only))
    })??;
    let report = report(&inventory, &apps, only.as_ref(), OffsetDateTime::now_utc());
    let rendered = match args.output {
        OutputFormat::Text => to_text(&report),
        OutputFormat::Json => format!("{:#}\n", report.to_json()),
    };
    crate::printer::stdout(&rendered)?;
    Ok(match report.summary.accounts_not_read {
        0 => ExitStatus::Success,
        _ => ExitStatus::Partial,
    })
}

/// Every app's name and configured certificates, so that each provider is told whose it is.
pub(super) fn every_app(settings: &Settings) -> Result<Vec<AppCertificates>, Failure> {
    Ok(settings
        .per_app(|app| app.inventory().map(|i| i.saml_certificates))
        .map_err(Failure::invalid)?
        .into_iter()
        .map(|(name, certificates)| AppCertificates {
            name,
            certificates: certificates.into_iter().collect(),
        })
        .collect())
}

/// One block per account, then the summary.
pub fn to_text(report: &ProvidersReport) -> String {
    let mut out = String::new();
    for account in &report.accounts {
        let _ = writeln!(out, "{} ({})", account.account, account.name);
        let providers = match &account.state {
            AccountState::NotRead { reason } => {
                let _ = writeln!(out, "  {reason}");
                continue;
            }
            AccountState::Read { providers } if providers.is_empty() => {
                let _ = writeln!(out, "  no SAML provider");
                continue;
            }
            AccountState::Read { providers } => providers,
        };
        for provider in providers {
            let kind = match &provider.kind {
                ProviderKind::Ours {
                    apps,
                    missing,
                    lasts_until,
                } => {
                    let apps: Vec<&str> = apps.iter().map(AppName::as_str).collect();
                    let mut kind = format!("ours ({})", apps.join(", "));
                    if !missing.is_empty() {
                        let missing: Vec<String> =
                            missing.iter().map(ToString::to_string).collect();
                        let _ = write!(kind, "; lacks {}", missing.join(", "));
                    }
                    if let Some(until) = lasts_until {
                        let _ = write!(kind, "; lasts until {}", until.date());
                    }
                    kind
                }
                ProviderKind::UnknownCertificate => {
                    "ours by entity id, with no configured certificate".to_owned()
                }
                ProviderKind::NotOurs => "not ours".to_owned(),
                ProviderKind::CantTell { reason } => format!("can't tell: {reason}"),
            };
            let _ = writeln!(out, "  {}: {kind}", provider.arn);
            for certificate in &provider.certificates {
                let _ = writeln!(out, "    {}", certificate_line(certificate));
            }
        }
    }
    let s = &report.summary;
    let ids = |ids: &[crate::model::AccountId]| {
        ids.iter()
            .map(ToString::to_string)
            .collect::<Vec<_>>()
            .join(", ")
    };
    let _ = writeln!(
        out,
        "\nready for the configured certificates: {}",
        counted(s.accounts_ready, "account")
    );
    if !s.accounts_missing_certificate.is_empty() {
        let _ = writeln!(
            out,
            "missing a configured certificate: {} ({})",
            counted(s.accounts_missing_certificate.len(), "account"),
            ids(&s.accounts_missing_certificate)
        );
    }
    for (app, locked) in &s.locked_out_if_switched {
        let _ = writeln!(
            out,
            "locked out if Entra switched app {app} to its newest certificate today: {} ({})",
            counted(locked.len(), "account"),
            ids(locked)
        );
    }
    for app in &s.newest_unknown {
        let _ = writeln!(
            out,
            "app {app}: none of its configured certificates is on any provider, so who a switch would lock out cannot be told"
        );
    }
    match (&s.earliest_expiry, s.certificate_expires_in_days) {
        (Some(when), Some(days)) => {
            let _ = writeln!(
                out,
                "earliest expiry: {} ({days} days): the first provider of ours left with no valid configured certificate",
                when.date()
            );
        }
        _ => {
            let _ = writeln!(out, "earliest expiry: none known");
        }
    }
    if s.accounts_not_read > 0 {
        let _ = writeln!(
            out,
            "not read: {} (nothing is known of their providers)",
            counted(s.accounts_not_read, "account")
        );
    }
    out
}

/// `1 account`, `2 accounts`.
pub fn counted(n: usize, thing: &str) -> String {
    match n {
        1 => format!("1 {thing}"),
        _ => format!("{n} {thing}s"),
    }
}

fn certificate_line(certificate: &CertificateStatus) -> String {
    let expiry = match (&certificate.not_after, certificate.days_left) {
        (Some(when), Some(days)) if days < 0 => {
            format!("expired {} ({} days ago)", when.date(), -days)
        }
        (Some(when), Some(days)) => format!("expires {} ({days} days left)", when.date()),
        _ => "expiry unknown (not an X.509 certificate)".to_owned(),
    };
    let configured = match certificate.configured {
        true => "configured",
        false => "not in saml-certificates",
    };
    format!("{} {expiry}, {configured}", certificate.sha256)
}
