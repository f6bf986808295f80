//! count: how many app roles a plan would add, counted from the inventory without building the
//! plan — so that an app over the entry cap is refused before its target, its groups and its
//! assignments are materialised (200,000 candidate roles against a 1,200-entry app would
//! otherwise build 200,000 app roles and as many groups, only to refuse them).
//!
//! The count follows [`super::plan`] rule for rule: the providers the plan chooses per role (its
//! own `chosen_providers`; none added for a role with an app role already), the same values
//! skipped as Graph would refuse them, the same roles skipped for sharing a display name or
//! group name with another role. Names are hashed, not kept. A false hash match can only make
//! the count smaller, so a plan is never refused on a count it would not reach: when in doubt,
//! the plan is built and the guardrail decides on it as always.
//!
//! Pure: no I/O.

use std::collections::{HashMap, HashSet};
use std::fmt::Write as _;
use std::hash::{BuildHasherDefault, DefaultHasher, Hash, Hasher};

use crate::model::{
    AccountOutcome, AppRole, AwsRoleValue, Inventory, RoleArn, SamlProviderArn, check_graph_value,
};
use crate::naming::NamingInput;

use super::{PlanSettings, chosen_providers};

/// The most app roles the inventory can add: one per role some provider of ours lets in.
/// Cheap (no text is built); when even this fits under the cap, nothing needs counting.
pub(super) fn at_most(inventory: &Inventory) -> usize {
    inventory
        .read_roles()
        .filter(|role| role.trusted().next().is_some())
        .count()
}

/// The app roles planning `inventory` against `current` (the managed roles by value) adds.
pub(super) fn adds(
    inventory: &Inventory,
    current: &HashMap<&str, &AppRole>,
    settings: &PlanSettings,
) -> usize {
    let (mut value, mut chosen, mut rendered) = (String::new(), Vec::new(), String::new());
    let mut names = Names::default();
    // The name hashes of each role that would get a new app role.
    let mut new: Vec<(u64, Option<u64>)> = Vec::new();
    for account in &inventory.accounts {
        let AccountOutcome::Read { roles, .. } = &account.outcome else {
            continue;
        };
        for role in roles {
            let existing = chosen_providers(role, current, &mut value, &mut chosen);
            let any_valid = chosen.iter().any(|provider| {
                value.clear();
                let _ = write!(value, "{},{provider}", role.arn);
                valid(&role.arn, provider, &value, settings)
            });
            if !any_valid {
                // Skipped, or no app role wanted: no name of its own to collide with.
                continue;
            }
            let adds = !existing;
            let input = NamingInput {
                account_id: &account.id,
                account_name: &account.name,
                role: &role.arn,
            };
            rendered.clear();
            settings.naming.render_into(&input, &mut rendered);
            let display = names.add(Name::Display, &rendered);
            // Without a group naming convention a group is named as its role's app role
            // (`groups::group_name`), so its name is shared exactly when the display name is:
            // counted once.
            let group = match &settings.group_naming {
                Some(convention) if settings.create_groups => {
                    rendered.clear();
                    convention.render_into(&input, &mut rendered);
                    Some(names.add(Name::Group, &rendered))
                }
                _ => None,
            };
            if adds {
                new.push((display, group));
            }
        }
    }
    new.iter()
        .filter(|(display, group)| {
            !names.shared.contains(display) && group.is_none_or(|g| !names.shared.contains(&g))
        })
        .count()
}

/// A pair `plan` would keep: role and provider in one account, a value Graph takes.
fn valid(role: &RoleArn, provider: &SamlProviderArn, value: &str, settings: &PlanSettings) -> bool {
    AwsRoleValue::may_pair(role, provider)
        && check_graph_value(value, settings.max_value_len).is_ok()
}

/// Which of a role's names, as `name_collisions` tells them apart.
#[derive(Hash)]
enum Name {
    Display,
    Group,
}

/// The hashes of the names seen, and of those seen for more than one role.
#[derive(Default)]
struct Names {
    seen: HashSet<u64, Hashed>,
    shared: HashSet<u64, Hashed>,
    /// The name being counted, lowercased.
    lowered: String,
}

impl Names {
    /// Counts one role's name (ignoring case, as Entra compares names) and returns its hash.
    fn add(&mut self, kind: Name, name: &str) -> u64 {
        self.lowered.clear();
        match name.is_ascii() {
            true => self
                .lowered
                .extend(name.chars().map(|c| c.to_ascii_lowercase())),
            // Lowering some letters depends on their neighbours (Greek final sigma).
            false => self.lowered.push_str(&name.to_lowercase()),
        }
        let mut hasher = DefaultHasher::new();
        kind.hash(&mut hasher);
        self.lowered.hash(&mut hasher);
        let hash = hasher.finish();
        if !self.seen.insert(hash) {
            self.shared.insert(hash);
        }
        hash
    }
}

/// Sets of hashes need no hashing again: a hash is its own bucket.
type Hashed = BuildHasherDefault<AlreadyHashed>;

#[derive(Default)]
struct AlreadyHashed(u64);

impl Hasher for AlreadyHashed {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        // Only `u64`s are hashed here; anything else is folded in, never dropped.
        for &b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(b);
        }
    }
    fn write_u64(&mut self, hash: u64) {
        self.0 = hash;
    }
}
