//! guardrail: whether a [`Plan`] may be applied — the removal limit and the manifest entry cap —
//! and how full the service principal is ([`Fill`]), which warns from [`NEAR_CAP_PERCENT`] on,
//! well before the run that would be refused.
//!
//! Pure: decides, never applies. A refusal names the counts and the setting that refused.

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use super::{Action, Plan};

/// The default `max-removals`.
pub const DEFAULT_MAX_REMOVALS: MaxRemovals = MaxRemovals::Percent(10);
/// The default `max-app-roles`: Graph's cap on manifest entries.
pub const DEFAULT_MAX_APP_ROLES: usize = 1200;

/// The most roles one run may disable: a count, or a percentage of the enabled managed roles
/// (rounded up, so a small directory can still lose one role).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum MaxRemovals {
    Count(usize),
    Percent(u8),
}

impl MaxRemovals {
    /// The limit for a directory with `enabled` managed roles.
    pub fn limit(self, enabled: usize) -> usize {
        match self {
            MaxRemovals::Count(n) => n,
            MaxRemovals::Percent(p) => (enabled * usize::from(p)).div_ceil(100),
        }
    }
}

impl FromStr for MaxRemovals {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let s = s.trim();
        if let Some(percent) = s.strip_suffix('%') {
            match percent.trim().parse::<u8>() {
                Ok(p) if p <= 100 => Ok(MaxRemovals::Percent(p)),
                _ => Err(format!("{s:?} is not a percentage from 0% to 100%")),
            }
        } else {
            s.parse::<usize>().map(MaxRemovals::Count).map_err(|_| {
                format!("{s:?} is neither a count (like 5) nor a percentage (like 10%)")
            })
        }
    }
}

impl fmt::Display for MaxRemovals {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            MaxRemovals::Count(n) => write!(f, "{n}"),
            MaxRemovals::Percent(p) => write!(f, "{p}%"),
        }
    }
}

/// The limits a plan is checked against.
#[derive(Clone, Copy, Debug)]
pub struct Guardrails {
    pub max_removals: MaxRemovals,
    /// Lifts `max_removals` for this run.
    pub allow_removals: bool,
    pub max_app_roles: usize,
}

impl Default for Guardrails {
    fn default() -> Self {
        Guardrails {
            max_removals: DEFAULT_MAX_REMOVALS,
            allow_removals: false,
            max_app_roles: DEFAULT_MAX_APP_ROLES,
        }
    }
}

/// Why a plan may not be applied.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, thiserror::Error)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Refusal {
    #[error(
        "the plan disables {disabling} of {enabled} enabled roles, over max-removals {max_removals} (at most {limit}); check the inventory, or rerun with --allow-removals"
    )]
    TooManyRemovals {
        disabling: usize,
        enabled: usize,
        limit: usize,
        #[serde(serialize_with = "as_string")]
        max_removals: MaxRemovals,
    },
    #[error(
        "the plan needs {peak} entries ({current} now, {adding} app roles to add{}), over max-app-roles {cap}; split the Organization across apps, exclude accounts or narrow the trusted roles",
        beside(*beside_app_roles)
    )]
    OverEntryCap {
        peak: usize,
        current: usize,
        adding: usize,
        /// Entries of the other collections sharing the cap, included in `peak` and `current`.
        beside_app_roles: usize,
        cap: usize,
    },
}

fn beside(entries: usize) -> String {
    if entries == 0 {
        String::new()
    } else {
        format!(
            "; {entries} of them in {}, which share the cap",
            crate::model::COLLECTIONS_SHARING_THE_CAP.join(", ")
        )
    }
}

/// From this fill on, a plan warns that its app nears the entry cap.
pub const NEAR_CAP_PERCENT: usize = 90;

/// How full the service principal is once the plan is applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
pub struct Fill {
    /// Entries counted against the cap: app roles and the collections that share it.
    pub entries: usize,
    /// `max-app-roles`.
    pub cap: usize,
    /// `entries` as a whole percentage of `cap`, rounded down.
    pub percent: usize,
}

impl Fill {
    /// At or past [`NEAR_CAP_PERCENT`].
    pub fn near_cap(&self) -> bool {
        self.percent >= NEAR_CAP_PERCENT
    }

    /// Logs the [`warning`](Fill::warning), when there is one.
    pub fn warn(&self) {
        if let Some(warning) = self.warning() {
            tracing::warn!(
                entries = self.entries,
                cap = self.cap,
                percent = self.percent,
                "{warning}"
            );
        }
    }

    /// The warning a plan near the cap prints.
    pub fn warning(&self) -> Option<String> {
        self.near_cap().then(|| {
            format!(
                "the app is {}% full ({} of max-app-roles {} entries): split the Organization across apps before it reaches the cap",
                self.percent, self.entries, self.cap
            )
        })
    }
}

/// How full `plan` leaves the service principal against `guardrails.max_app_roles`.
pub fn fill(plan: &Plan, guardrails: &Guardrails) -> Fill {
    let entries = plan.entries_after();
    let cap = guardrails.max_app_roles;
    Fill {
        entries,
        cap,
        percent: (entries * 100).checked_div(cap).unwrap_or(100),
    }
}

fn as_string<S: serde::Serializer>(v: &MaxRemovals, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(v)
}

/// Every refusal that applies to `plan`; empty when it may be applied.
///
/// Only disabling counts as a removal: that is when people lose access. Dropping a role an
/// earlier run already disabled changes no one's access.
pub fn check(plan: &Plan, guardrails: &Guardrails) -> Vec<Refusal> {
    let mut refusals = Vec::new();
    let disabling = plan.count(Action::Disable);
    let limit = guardrails.max_removals.limit(plan.enabled_managed_before);
    if disabling > limit && !guardrails.allow_removals {
        refusals.push(Refusal::TooManyRemovals {
            disabling,
            enabled: plan.enabled_managed_before,
            limit,
            max_removals: guardrails.max_removals,
        });
    }
    let adding = plan.adding();
    if plan.peak_entries() > guardrails.max_app_roles && adding > 0 {
        refusals.push(Refusal::OverEntryCap {
            peak: plan.peak_entries(),
            current: plan.peak_entries() - adding,
            adding,
            beside_app_roles: plan.entries_beside_app_roles,
            cap: guardrails.max_app_roles,
        });
    }
    refusals
}
