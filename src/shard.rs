//! shard: which Organizational Units go to which Entra enterprise app when one app cannot hold
//! every federated role of the Organization — the pure decision behind `fedsync shard-plan`.
//!
//! An app holds at most `cap` entries (Graph's 1,200); fedsync fills each only up to its
//! *target*, `floor(cap × target_fill)` (default 0.8, so 960), to leave room for growth. This
//! module owns the OU tree ([`OrgTree`]), the apps to split into ([`Apps`]) and the split itself
//! ([`split`] → [`ShardPlan`], and the growth estimate [`apps_needed`]). It returns a plan or a
//! [`ShardError`] naming the account, OU and numbers that do not fit. It never returns an app
//! over its target and never drops an account. Pure: no I/O, no clock, no async, no randomness;
//! every input is sorted by id or name first, so the same input — in any order — gives the same
//! plan.
//!
//! # Units
//! A unit is what the admin deploys one app's StackSet to: a whole OU with everything under it
//! ([`Scope::Subtree`]), or some of one OU's direct accounts ([`Scope::DirectAccounts`], an
//! account filter). Only an OU that cannot go whole is split: into its child OUs (each placed
//! whole, or split in turn) and its direct accounts (together, else one by one). Here the root
//! counts as an OU.
//!
//! # Algorithm (greedy, not optimal)
//! Units are always taken largest first, ties by OU id then account id.
//! 1. *Which accounts stay*: per existing app, the units whose accounts live only in it today
//!    (accounts with no app may ride along) go in while the entries of the accounts that live
//!    there fit its target; a unit that does not fit moves whole when it would fit an app of
//!    that target alone, and only a unit bigger than that is split (a single account that does
//!    not fit moves).
//! 2. *Keep*: those units go into their app again, riders included, but riders only take room
//!    the staying accounts leave free; a unit whose riders do not fit is split, and the riders
//!    left out join the rest.
//! 3. *The rest*: first fit into the apps in order (existing apps by name, then new ones); a
//!    unit that fits no app is split and its parts placed the same way; a single account that
//!    fits no app is [`ShardError::NoRoom`].
//! 4. *How many apps*: [`AppCount::Fixed`] uses exactly that many. [`AppCount::AsNeeded`] keeps
//!    every existing app and adds the fewest new apps step 3 succeeds with, trying from the
//!    lower bound (enough targets for every entry) upward.
//! 5. *Output*: the accounts are gathered back into units, so an OU whose accounts all landed in
//!    one app is one unit, whatever the steps split on the way.
//!
//! # Guarantees
//! - Every account is in exactly one app; the entries of the apps add up to the accounts'.
//! - No app is over its target. When that cannot be done the answer is an error: an account
//!   above every target, fewer targets than entries, or no room left for an account.
//! - If the accounts living in an existing app today fit its target, none of them moves. If they
//!   do not, the largest units stay and the rest move; the entries moved are few, not minimal.
//! - The fewest apps, whole OUs and fewest moves are not promised: first fit may use more apps
//!   than the best packing, split an OU a search would keep whole, or, for a fixed count,
//!   report [`ShardError::NoRoom`] when a split exists.
//!
//! # New apps
//! Apps the split adds get [`Apps::new_apps`]'s capacity and the name `shard-{k}`, `k` counting
//! on from the number of existing apps and skipping names already taken: with one existing app
//! they are `shard-2`, `shard-3`…; with none, `shard-1`, `shard-2`…
//!
//! # Growth
//! [`apps_needed`] multiplies every account's entries by the factor, rounding each up, and
//! splits again as needed. It is an estimate: an Organization mostly grows by new accounts, not
//! by more roles in each, and rounding up per account overstates many small accounts.

use std::collections::BTreeMap;
use std::fmt;
use std::str::FromStr;

use thiserror::Error;

pub use crate::model::AppName;
use crate::model::{AccountId, ParseError};
use crate::plan::guardrail::DEFAULT_MAX_APP_ROLES;

/// Prefix of the names of the apps a split adds: `shard-2`, `shard-3`…
pub const NEW_APP_PREFIX: &str = "shard-";

/// Millionths in one: fractions are kept as integers so `floor(cap × fill)` is exact.
const MILLION: u128 = 1_000_000;

/// The id of an Organizational Unit (`ou-ab12-cdef3456`) or of the Organization's root
/// (`r-ab12`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct OuId(String);

impl OuId {
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// `min` to 32 lowercase letters or digits, as Organizations writes id parts.
fn is_id_part(s: &str, min: usize) -> bool {
    (min..=32).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
}

impl FromStr for OuId {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let valid = if let Some(root) = s.strip_prefix("r-") {
            is_id_part(root, 4)
        } else if let Some(ou) = s.strip_prefix("ou-") {
            ou.split_once('-')
                .is_some_and(|(root, ou)| is_id_part(root, 4) && is_id_part(ou, 8))
        } else {
            false
        };
        if valid {
            Ok(OuId(s.to_owned()))
        } else {
            Err(ParseError::new(
                "OU id",
                s,
                "expected r-ab12 for the root or ou-ab12-cdef3456 for an OU (lowercase letters and digits)",
            ))
        }
    }
}

impl fmt::Display for OuId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The share of its cap an app is filled to: above 0, at most 1. Kept in millionths, so
/// `0.7` of 1,000 is 700, not 699.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TargetFill(u64);

impl TargetFill {
    /// 0.8: a fifth of every app is left for growth.
    pub const DEFAULT: TargetFill = TargetFill(800_000);

    /// The fill `fraction` of the cap, rounded to millionths.
    pub fn new(fraction: f64) -> Result<TargetFill, ParseError> {
        let millionths = (fraction * 1e6).round();
        if fraction > 0.0 && fraction <= 1.0 && millionths >= 1.0 {
            Ok(TargetFill(millionths as u64))
        } else {
            Err(ParseError::new(
                "target fill",
                &fraction.to_string(),
                "expected a fraction above 0 and at most 1, such as 0.8",
            ))
        }
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `floor(cap × self)`.
    fn of(self, cap: usize) -> usize {
        // At most `cap`, so the cast back cannot truncate.
        (cap as u128 * u128::from(self.0) / MILLION) as usize
    }
}

impl Default for TargetFill {
    fn default() -> Self {
        TargetFill::DEFAULT
    }
}

impl FromStr for TargetFill {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<f64>() {
            Ok(fraction) => TargetFill::new(fraction),
            Err(_) => Err(ParseError::new(
                "target fill",
                s,
                "expected a fraction above 0 and at most 1, such as 0.8",
            )),
        }
    }
}

impl fmt::Display for TargetFill {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// How much the Organization grows, as a factor of today's entries: above 0, at most 1,000
/// (`1.5` is half as many again). Kept in millionths, like [`TargetFill`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GrowthFactor(u64);

impl GrowthFactor {
    /// The factor `factor`, rounded to millionths.
    pub fn new(factor: f64) -> Result<GrowthFactor, ParseError> {
        let millionths = (factor * 1e6).round();
        if factor > 0.0 && factor <= 1000.0 && millionths >= 1.0 {
            Ok(GrowthFactor(millionths as u64))
        } else {
            Err(ParseError::new(
                "growth factor",
                &factor.to_string(),
                "expected a factor above 0 and at most 1000, such as 1.5",
            ))
        }
    }

    pub fn as_f64(self) -> f64 {
        self.0 as f64 / 1e6
    }

    /// `ceil(entries × self)`.
    fn scale(self, entries: usize) -> usize {
        let scaled = (entries as u128 * u128::from(self.0)).div_ceil(MILLION);
        usize::try_from(scaled).unwrap_or(usize::MAX)
    }
}

impl FromStr for GrowthFactor {
    type Err = ParseError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().parse::<f64>() {
            Ok(factor) => GrowthFactor::new(factor),
            Err(_) => Err(ParseError::new(
                "growth factor",
                s,
                "expected a factor above 0 and at most 1000, such as 1.5",
            )),
        }
    }
}

impl fmt::Display for GrowthFactor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.as_f64())
    }
}

/// How many entries an app may hold, and how full fedsync fills it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Capacity {
    /// Entries the app can hold at all (Graph's cap, 1,200).
    pub cap: usize,
    pub target_fill: TargetFill,
}

impl Capacity {
    /// Entries fedsync puts in the app at most: `floor(cap × target_fill)`.
    pub fn target(self) -> usize {
        self.target_fill.of(self.cap)
    }
}

impl Default for Capacity {
    /// Graph's cap, filled to 0.8: 960 entries.
    fn default() -> Self {
        Capacity {
            cap: DEFAULT_MAX_APP_ROLES,
            target_fill: TargetFill::DEFAULT,
        }
    }
}

/// An Entra enterprise app that exists today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct App {
    pub name: AppName,
    pub capacity: Capacity,
}

/// How many apps the split uses.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum AppCount {
    /// Exactly this many: every existing app, then new ones.
    Fixed(usize),
    /// Every existing app, plus as few new ones as the split needs (at least one app in all).
    AsNeeded,
}

/// The apps to split the Organization into.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Apps {
    /// The apps that exist today; each is kept, even if the split leaves it empty.
    pub existing: Vec<App>,
    /// The capacity of each app the split adds.
    pub new_apps: Capacity,
    pub count: AppCount,
}

/// An OU of the Organization, or its root (the one with no parent).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Ou {
    pub id: OuId,
    pub name: String,
    pub parent: Option<OuId>,
}

/// An account, the OU it sits in directly, and what it needs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Account {
    pub id: AccountId,
    pub ou: OuId,
    /// App-role entries the account needs: its federated roles (may be 0).
    pub entries: usize,
    /// The app the account lives in today, if any.
    pub current_app: Option<AppName>,
}

/// Why OUs and accounts do not make a tree.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum TreeError {
    #[error("OU {ou} is listed more than once")]
    DuplicateOu { ou: OuId },
    #[error("no OU is the root: give exactly one OU, the root, no parent")]
    NoRoot,
    #[error("both {first} and {second} have no parent: give exactly one OU, the root, no parent")]
    TwoRoots { first: OuId, second: OuId },
    #[error("OU {ou} names parent {parent}, which is not in the tree")]
    UnknownParent { ou: OuId, parent: OuId },
    #[error("OU {ou} does not lead up to the root {root}: its parents form a cycle")]
    Cycle { ou: OuId, root: OuId },
    #[error("account {account} is listed more than once")]
    DuplicateAccount { account: AccountId },
    #[error("account {account} is in OU {ou}, which is not in the tree")]
    UnknownOu { account: AccountId, ou: OuId },
}

/// The Organization as a checked tree: OUs sorted by id, each with its child OUs and the
/// accounts it holds directly, sorted by id.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrgTree {
    ous: Vec<Ou>,
    accounts: Vec<Account>,
    root: usize,
    /// Per OU, its child OUs, by index into `ous` (so by id).
    children: Vec<Vec<usize>>,
    /// Per OU, the accounts it holds directly, by index into `accounts` (so by id).
    direct: Vec<Vec<usize>>,
    /// OUs in depth-first order from the root, children by id: each subtree is one run.
    preorder: Vec<usize>,
    /// Per OU, its subtree's run in `preorder`.
    span: Vec<(usize, usize)>,
}

impl OrgTree {
    /// Checks that `ous` form one tree and that every account sits in one of its OUs.
    pub fn new(mut ous: Vec<Ou>, mut accounts: Vec<Account>) -> Result<OrgTree, TreeError> {
        ous.sort_by(|a, b| a.id.cmp(&b.id));
        if let Some(w) = ous.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(TreeError::DuplicateOu {
                ou: w[0].id.clone(),
            });
        }
        let index = |id: &OuId| ous.binary_search_by(|o| o.id.cmp(id)).ok();
        let mut roots = ous.iter().enumerate().filter(|(_, o)| o.parent.is_none());
        let root = match (roots.next(), roots.next()) {
            (None, _) => return Err(TreeError::NoRoot),
            (Some((_, first)), Some((_, second))) => {
                return Err(TreeError::TwoRoots {
                    first: first.id.clone(),
                    second: second.id.clone(),
                });
            }
            (Some((root, _)), None) => root,
        };
        let mut children = vec![Vec::new(); ous.len()];
        for (i, ou) in ous.iter().enumerate() {
            if let Some(parent) = &ou.parent {
                let p = index(parent).ok_or_else(|| TreeError::UnknownParent {
                    ou: ou.id.clone(),
                    parent: parent.clone(),
                })?;
                children[p].push(i);
            }
        }

        let mut preorder = Vec::with_capacity(ous.len());
        let mut stack = vec![root];
        while let Some(x) = stack.pop() {
            preorder.push(x);
            stack.extend(children[x].iter().rev());
        }
        if preorder.len() < ous.len() {
            let mut reached = vec![false; ous.len()];
            for &x in &preorder {
                reached[x] = true;
            }
            let lost = reached.iter().position(|r| !r).unwrap_or(root);
            return Err(TreeError::Cycle {
                ou: ous[lost].id.clone(),
                root: ous[root].id.clone(),
            });
        }
        let mut span = vec![(0, 0); ous.len()];
        let mut size = vec![1; ous.len()];
        for (at, &x) in preorder.iter().enumerate().rev() {
            size[x] += children[x].iter().map(|&c| size[c]).sum::<usize>();
            span[x] = (at, at + size[x]);
        }

        accounts.sort_by_key(|a| a.id);
        if let Some(w) = accounts.windows(2).find(|w| w[0].id == w[1].id) {
            return Err(TreeError::DuplicateAccount { account: w[0].id });
        }
        let mut direct = vec![Vec::new(); ous.len()];
        for (a, account) in accounts.iter().enumerate() {
            let ou = index(&account.ou).ok_or_else(|| TreeError::UnknownOu {
                account: account.id,
                ou: account.ou.clone(),
            })?;
            direct[ou].push(a);
        }
        Ok(OrgTree {
            ous,
            accounts,
            root,
            children,
            direct,
            preorder,
            span,
        })
    }

    /// The OUs, the root among them, sorted by id.
    pub fn ous(&self) -> &[Ou] {
        &self.ous
    }

    /// The accounts, sorted by id.
    pub fn accounts(&self) -> &[Account] {
        &self.accounts
    }

    /// The entries of every account together.
    pub fn entries(&self) -> usize {
        sum(self.accounts.iter().map(|a| a.entries))
    }

    /// OU `x` and every OU under it.
    fn subtree(&self, x: usize) -> &[usize] {
        let (start, end) = self.span[x];
        &self.preorder[start..end]
    }

    /// The accounts under OU `x`, sorted.
    fn subtree_accounts(&self, x: usize) -> Vec<usize> {
        let mut accounts: Vec<usize> = self
            .subtree(x)
            .iter()
            .flat_map(|&y| self.direct[y].iter().copied())
            .collect();
        accounts.sort_unstable();
        accounts
    }

    /// The same tree with every account's entries grown by `growth`.
    fn grown(&self, growth: GrowthFactor) -> OrgTree {
        let mut tree = self.clone();
        for account in &mut tree.accounts {
            account.entries = growth.scale(account.entries);
        }
        tree
    }
}

/// Why there is no split. Each variant names what does not fit, with the numbers.
#[derive(Clone, Debug, PartialEq, Eq, Error)]
pub enum ShardError {
    #[error("app {app} is listed more than once: list each existing app once")]
    DuplicateApp { app: AppName },
    #[error(
        "account {account} lives in app {app}, which is not among the existing apps: add the app, or clear the account's current app"
    )]
    UnknownApp { account: AccountId, app: AppName },
    #[error("0 apps asked for: ask for at least 1")]
    NoApps,
    #[error(
        "{apps} apps asked for, but {existing} exist and every existing app is kept: ask for at least {existing}"
    )]
    FewerAppsThanExisting { apps: usize, existing: usize },
    #[error(
        "account {account} in OU {ou} needs {entries} entries, more than the largest app target of {target} (cap × target fill): no split can hold it; raise the cap or the target fill, or cut the account's federated roles"
    )]
    AccountTooLarge {
        account: AccountId,
        ou: OuId,
        entries: usize,
        target: usize,
    },
    #[error(
        "the {apps} apps asked for may hold {target} entries together (cap × target fill), fewer than the {entries} needed: ask for more apps, or let fedsync pick how many"
    )]
    NotEnoughApps {
        apps: usize,
        entries: usize,
        target: usize,
    },
    #[error(
        "account {account} in OU {ou} needs {entries} entries, but once the other units were placed no app of {apps} had more than {free} free: ask for one more app"
    )]
    NoRoom {
        account: AccountId,
        ou: OuId,
        entries: usize,
        apps: usize,
        free: usize,
    },
}

/// Which units go to which app.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ShardPlan {
    /// Existing apps by name, then new ones in the order they were added.
    pub apps: Vec<AppPlan>,
    /// Accounts that leave the app they live in today, by account id. An account with no
    /// current app does not move.
    pub moves: Vec<Move>,
}

impl ShardPlan {
    /// Entries (roles) that leave the app they live in today.
    pub fn moved_entries(&self) -> usize {
        sum(self.moves.iter().map(|m| m.entries))
    }
}

/// One app of a [`ShardPlan`] and its totals.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AppPlan {
    pub name: AppName,
    pub capacity: Capacity,
    /// Whether the split adds this app.
    pub new: bool,
    /// In depth-first order from the root, children by id.
    pub units: Vec<Unit>,
    /// OUs the app holds whole.
    pub ous: usize,
    pub accounts: usize,
    pub entries: usize,
}

impl AppPlan {
    /// Entries the app may hold at most.
    pub fn target(&self) -> usize {
        self.capacity.target()
    }

    /// `entries / cap`: 0.8 is 80 % of what Graph allows.
    pub fn fill(&self) -> f64 {
        if self.capacity.cap == 0 {
            0.0
        } else {
            self.entries as f64 / self.capacity.cap as f64
        }
    }
}

/// What a unit of an app covers of its OU.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Scope {
    /// The OU and every OU and account under it.
    Subtree,
    /// Some or all of the accounts directly in the OU, none of its child OUs.
    DirectAccounts,
}

/// Part of the Organization one app holds: what one StackSet target deploys to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Unit {
    pub ou: OuId,
    pub ou_name: String,
    pub scope: Scope,
    /// Every account the unit covers, sorted by id.
    pub accounts: Vec<AccountId>,
    /// OUs the unit holds whole: the OU and those under it for a subtree, 0 otherwise.
    pub ous: usize,
    pub entries: usize,
}

/// An account that leaves the app it lives in today.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Move {
    pub account: AccountId,
    pub from: AppName,
    pub to: AppName,
    pub entries: usize,
}

/// Splits the Organization's accounts across apps; see the module doc for the algorithm.
pub fn split(tree: &OrgTree, apps: &Apps) -> Result<ShardPlan, ShardError> {
    let mut existing = apps.existing.clone();
    existing.sort_by(|a, b| a.name.cmp(&b.name));
    if let Some(w) = existing.windows(2).find(|w| w[0].name == w[1].name) {
        return Err(ShardError::DuplicateApp {
            app: w[0].name.clone(),
        });
    }
    let home = current_homes(tree, &existing)?;
    match apps.count {
        AppCount::Fixed(0) => return Err(ShardError::NoApps),
        AppCount::Fixed(n) if n < existing.len() => {
            return Err(ShardError::FewerAppsThanExisting {
                apps: n,
                existing: existing.len(),
            });
        }
        _ => {}
    }

    // Steps 1 and 2 do not depend on the number of apps.
    let targets: Vec<usize> = existing.iter().map(|a| a.capacity.target()).collect();
    let mut staying = home.clone();
    for a in must_move(&Loads::new(tree, home.clone()), &targets) {
        staying[a] = None;
    }
    let loads = Loads::new(tree, staying);
    let mut kept: Vec<Bin> = targets.iter().map(|&t| Bin::new(t)).collect();
    let rest = keep(&loads, &mut kept);

    let attempt = |n: usize| {
        let mut plans = app_plans(&existing, apps.new_apps, n);
        check_room(tree, &plans)?;
        let mut bins = kept.clone();
        bins.extend(plans[existing.len()..].iter().map(|p| Bin::new(p.target())));
        place(&loads, &mut bins, &rest)?;
        let moves = gather(tree, &home, &bins, &mut plans);
        Ok(ShardPlan { apps: plans, moves })
    };
    match apps.count {
        AppCount::Fixed(n) => attempt(n),
        AppCount::AsNeeded => {
            let (mut n, most) = bounds(tree, &existing, apps.new_apps)?;
            loop {
                match attempt(n) {
                    Err(ShardError::NoRoom { .. }) if n < most => n += 1,
                    result => return result,
                }
            }
        }
    }
}

/// How many apps the Organization would need if it grew by `growth`, at the same targets: the
/// number [`split`] gives, as needed, with every account's entries multiplied by `growth` and
/// rounded up. Never fewer than the existing apps, which are kept. The count in `apps` is
/// ignored.
pub fn apps_needed(tree: &OrgTree, apps: &Apps, growth: GrowthFactor) -> Result<usize, ShardError> {
    let apps = Apps {
        count: AppCount::AsNeeded,
        ..apps.clone()
    };
    split(&tree.grown(growth), &apps).map(|plan| plan.apps.len())
}

/// `+` that stops at `usize::MAX` rather than overflowing.
fn sum(values: impl Iterator<Item = usize>) -> usize {
    values.fold(0, usize::saturating_add)
}

/// Per account, the index (into `existing`) of the app it lives in today.
fn current_homes(tree: &OrgTree, existing: &[App]) -> Result<Vec<Option<usize>>, ShardError> {
    tree.accounts
        .iter()
        .map(|account| {
            let Some(app) = &account.current_app else {
                return Ok(None);
            };
            existing
                .binary_search_by(|a| a.name.cmp(app))
                .map(Some)
                .map_err(|_| ShardError::UnknownApp {
                    account: account.id,
                    app: app.clone(),
                })
        })
        .collect()
}

/// The account with the most entries, the first by id among equals.
fn largest(tree: &OrgTree) -> Option<&Account> {
    tree.accounts
        .iter()
        .max_by(|a, b| a.entries.cmp(&b.entries).then_with(|| b.id.cmp(&a.id)))
}

fn too_large(account: &Account, target: usize) -> ShardError {
    ShardError::AccountTooLarge {
        account: account.id,
        ou: account.ou.clone(),
        entries: account.entries,
        target,
    }
}

/// The first and last app count [`AppCount::AsNeeded`] tries. The first is the least whose
/// targets hold every entry and the largest account; at the last, some new app is still empty
/// whenever step 3 meets an account, so it fails only for an account that fits existing apps
/// alone.
fn bounds(
    tree: &OrgTree,
    existing: &[App],
    new_apps: Capacity,
) -> Result<(usize, usize), ShardError> {
    let new_target = new_apps.target();
    let existing_target = sum(existing.iter().map(|a| a.capacity.target()));
    let existing_most = existing.iter().map(|a| a.capacity.target()).max();
    let existing_most = existing_most.unwrap_or(0);
    let largest_entries = match largest(tree) {
        Some(account) if account.entries > existing_most.max(new_target) => {
            return Err(too_large(account, existing_most.max(new_target)));
        }
        Some(account) => account.entries,
        None => 0,
    };
    let mut added = match new_target {
        0 => 0,
        t => tree.entries().saturating_sub(existing_target).div_ceil(t),
    };
    if largest_entries > existing_most {
        // Only a new app holds the largest account.
        added = added.max(1);
    }
    let least = (existing.len() + added).max(1);
    let positive = tree.accounts.iter().filter(|a| a.entries > 0).count();
    Ok((least, least.max(existing.len() + positive)))
}

/// The `n` apps of a split, still empty: the existing ones, then new ones named as the module
/// doc says.
fn app_plans(existing: &[App], new_apps: Capacity, n: usize) -> Vec<AppPlan> {
    let empty = |name, capacity, new| AppPlan {
        name,
        capacity,
        new,
        units: Vec::new(),
        ous: 0,
        accounts: 0,
        entries: 0,
    };
    let mut plans: Vec<AppPlan> = existing
        .iter()
        .map(|a| empty(a.name.clone(), a.capacity, false))
        .collect();
    let mut k = existing.len();
    while plans.len() < n {
        k += 1;
        let name = AppName::numbered(NEW_APP_PREFIX, k);
        if existing.iter().all(|a| a.name != name) {
            plans.push(empty(name, new_apps, true));
        }
    }
    plans
}

/// Refuses `apps` at once when no split into them can exist: an account above every target,
/// or more entries than the targets hold together.
fn check_room(tree: &OrgTree, apps: &[AppPlan]) -> Result<(), ShardError> {
    let most = apps.iter().map(AppPlan::target).max().unwrap_or(0);
    if let Some(account) = largest(tree)
        && account.entries > most
    {
        return Err(too_large(account, most));
    }
    let target = sum(apps.iter().map(AppPlan::target));
    let entries = tree.entries();
    if entries > target {
        return Err(ShardError::NotEnoughApps {
            apps: apps.len(),
            entries,
            target,
        });
    }
    Ok(())
}

/// Part of the tree being placed. Indices point into the [`OrgTree`]'s sorted lists, so the
/// derived order is the order of ids.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
enum Piece {
    /// OU `x` and everything under it.
    Subtree(usize),
    /// Some direct accounts of OU `x`.
    Direct(usize, Vec<usize>),
}

/// Where some accounts live (or are placed): nowhere yet, all in one app, or in several.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Where {
    Any,
    In(usize),
    Mixed,
}

impl Where {
    fn of(app: Option<usize>) -> Where {
        app.map_or(Where::Any, Where::In)
    }

    fn join(self, other: Where) -> Where {
        match (self, other) {
            (Where::Any, w) | (w, Where::Any) => w,
            (Where::In(a), Where::In(b)) if a == b => self,
            _ => Where::Mixed,
        }
    }
}

/// The tree's entries, given which app each account stays in (if any).
struct Loads<'a> {
    tree: &'a OrgTree,
    home: Vec<Option<usize>>,
    /// Per OU, the entries of its subtree.
    entries: Vec<usize>,
    /// Per OU, the entries of its subtree's accounts that have a home.
    homed: Vec<usize>,
    /// Per OU, where its subtree's accounts live.
    home_of: Vec<Where>,
}

impl<'a> Loads<'a> {
    fn new(tree: &'a OrgTree, home: Vec<Option<usize>>) -> Loads<'a> {
        let n = tree.ous.len();
        let (mut entries, mut homed) = (vec![0usize; n], vec![0usize; n]);
        let mut home_of = vec![Where::Any; n];
        // Reversed preorder meets every OU after the OUs under it.
        for &x in tree.preorder.iter().rev() {
            for &a in &tree.direct[x] {
                let e = tree.accounts[a].entries;
                entries[x] = entries[x].saturating_add(e);
                if home[a].is_some() {
                    homed[x] = homed[x].saturating_add(e);
                }
                home_of[x] = home_of[x].join(Where::of(home[a]));
            }
            for &c in &tree.children[x] {
                entries[x] = entries[x].saturating_add(entries[c]);
                homed[x] = homed[x].saturating_add(homed[c]);
                home_of[x] = home_of[x].join(home_of[c]);
            }
        }
        Loads {
            tree,
            home,
            entries,
            homed,
            home_of,
        }
    }

    fn entries(&self, piece: &Piece) -> usize {
        match piece {
            Piece::Subtree(x) => self.entries[*x],
            Piece::Direct(_, accounts) => {
                sum(accounts.iter().map(|&a| self.tree.accounts[a].entries))
            }
        }
    }

    fn homed(&self, piece: &Piece) -> usize {
        match piece {
            Piece::Subtree(x) => self.homed[*x],
            Piece::Direct(_, accounts) => sum(accounts
                .iter()
                .filter(|&&a| self.home[a].is_some())
                .map(|&a| self.tree.accounts[a].entries)),
        }
    }

    fn home_of(&self, piece: &Piece) -> Where {
        match piece {
            Piece::Subtree(x) => self.home_of[*x],
            Piece::Direct(_, accounts) => accounts
                .iter()
                .fold(Where::Any, |w, &a| w.join(Where::of(self.home[a]))),
        }
    }

    /// The accounts of a piece.
    fn accounts(&self, piece: &Piece) -> Vec<usize> {
        match piece {
            Piece::Subtree(x) => self.tree.subtree_accounts(*x),
            Piece::Direct(_, accounts) => accounts.clone(),
        }
    }

    /// The account of a one-account piece, which cannot be split.
    fn single(piece: &Piece) -> Option<usize> {
        match piece {
            Piece::Direct(_, accounts) if accounts.len() == 1 => Some(accounts[0]),
            _ => None,
        }
    }

    /// A piece's parts: an OU's child OUs and its direct accounts together; direct accounts
    /// one by one. Largest first.
    fn parts(&self, piece: &Piece) -> Vec<Piece> {
        let parts = match piece {
            Piece::Subtree(x) => {
                let mut parts: Vec<Piece> = self.tree.children[*x]
                    .iter()
                    .map(|&c| Piece::Subtree(c))
                    .collect();
                if !self.tree.direct[*x].is_empty() {
                    parts.push(Piece::Direct(*x, self.tree.direct[*x].clone()));
                }
                parts
            }
            Piece::Direct(x, accounts) if accounts.len() > 1 => accounts
                .iter()
                .map(|&a| Piece::Direct(*x, vec![a]))
                .collect(),
            Piece::Direct(..) => Vec::new(),
        };
        self.largest_first(parts)
    }

    /// The tree cut into the fewest pieces whose accounts live in one app (or none): an OU whose
    /// accounts live in several is cut into its child OUs and its direct accounts by app.
    fn pieces(&self) -> Vec<Piece> {
        let mut pieces = Vec::new();
        let mut stack = vec![self.tree.root];
        while let Some(x) = stack.pop() {
            if self.home_of[x] != Where::Mixed {
                pieces.push(Piece::Subtree(x));
                continue;
            }
            let mut by_home: BTreeMap<Option<usize>, Vec<usize>> = BTreeMap::new();
            for &a in &self.tree.direct[x] {
                by_home.entry(self.home[a]).or_default().push(a);
            }
            pieces.extend(
                by_home
                    .into_values()
                    .map(|accounts| Piece::Direct(x, accounts)),
            );
            stack.extend(self.tree.children[x].iter().copied());
        }
        self.largest_first(pieces)
    }

    fn largest_first(&self, mut pieces: Vec<Piece>) -> Vec<Piece> {
        pieces.sort_by(|a, b| self.entries(b).cmp(&self.entries(a)).then_with(|| a.cmp(b)));
        pieces
    }
}

/// A stack that pops `pieces` in their order.
fn worklist(pieces: Vec<Piece>) -> Vec<Piece> {
    pieces.into_iter().rev().collect()
}

/// One app being filled.
#[derive(Clone, Debug)]
struct Bin {
    target: usize,
    used: usize,
    pieces: Vec<Piece>,
}

impl Bin {
    fn new(target: usize) -> Bin {
        Bin {
            target,
            used: 0,
            pieces: Vec::new(),
        }
    }

    fn free(&self) -> usize {
        self.target.saturating_sub(self.used)
    }

    fn put(&mut self, piece: Piece, entries: usize) {
        self.used += entries;
        self.pieces.push(piece);
    }
}

/// Step 1: the accounts that must leave the existing app they live in, because the pieces that
/// live there, largest first, do not fit its target. Counts only accounts that live there. A
/// piece that fits an app of that target on its own leaves whole: an OU is split only when it
/// alone is too big.
fn must_move(loads: &Loads, targets: &[usize]) -> Vec<usize> {
    let mut used = vec![0; targets.len()];
    let mut leaving = Vec::new();
    let mut stack = worklist(loads.pieces());
    while let Some(piece) = stack.pop() {
        let Where::In(app) = loads.home_of(&piece) else {
            continue;
        };
        let homed = loads.homed(&piece);
        if used[app] + homed <= targets[app] {
            used[app] += homed;
        } else if let Some(a) = Loads::single(&piece) {
            leaving.push(a);
        } else if loads.entries(&piece) <= targets[app] {
            leaving.extend(
                loads
                    .accounts(&piece)
                    .into_iter()
                    .filter(|&a| loads.home[a].is_some()),
            );
        } else {
            stack.extend(worklist(loads.parts(&piece)));
        }
    }
    leaving
}

/// Step 2: every piece that lives in an existing app goes back into it. Riders (accounts with no
/// home) only take room the staying accounts leave, so every staying account fits: `used +
/// reserved <= target` holds throughout, `reserved` being the staying entries not yet placed.
/// Returns the pieces left for step 3, largest first.
fn keep(loads: &Loads, bins: &mut [Bin]) -> Vec<Piece> {
    let mut reserved = vec![0usize; bins.len()];
    for (a, home) in loads.home.iter().enumerate() {
        if let Some(app) = home {
            reserved[*app] += loads.tree.accounts[a].entries;
        }
    }
    let mut rest = Vec::new();
    let mut stack = worklist(loads.pieces());
    while let Some(piece) = stack.pop() {
        let Where::In(app) = loads.home_of(&piece) else {
            rest.push(piece);
            continue;
        };
        let (entries, homed) = (loads.entries(&piece), loads.homed(&piece));
        let others = reserved[app].saturating_sub(homed);
        if bins[app].used + entries + others <= bins[app].target {
            bins[app].put(piece, entries);
            reserved[app] = others;
        } else if Loads::single(&piece).is_some() {
            // Unreachable by the invariant; placing it with the rest still keeps every account.
            rest.push(piece);
        } else {
            stack.extend(worklist(loads.parts(&piece)));
        }
    }
    loads.largest_first(rest)
}

/// Step 3: first fit of `rest` into `bins`, splitting what fits nowhere.
fn place(loads: &Loads, bins: &mut [Bin], rest: &[Piece]) -> Result<(), ShardError> {
    let mut stack = worklist(rest.to_vec());
    while let Some(piece) = stack.pop() {
        let entries = loads.entries(&piece);
        if let Some(bin) = bins.iter_mut().find(|b| entries <= b.free()) {
            bin.put(piece, entries);
        } else if let Some(a) = Loads::single(&piece) {
            let account = &loads.tree.accounts[a];
            return Err(ShardError::NoRoom {
                account: account.id,
                ou: account.ou.clone(),
                entries,
                apps: bins.len(),
                free: bins.iter().map(Bin::free).max().unwrap_or(0),
            });
        } else {
            stack.extend(worklist(loads.parts(&piece)));
        }
    }
    Ok(())
}

/// Step 5: gathers the placed pieces back into units, fills in `plans`' units and totals, and
/// returns the accounts that left their current app (`home`).
fn gather(
    tree: &OrgTree,
    home: &[Option<usize>],
    bins: &[Bin],
    plans: &mut [AppPlan],
) -> Vec<Move> {
    let mut account_bin = vec![None; tree.accounts.len()];
    let mut ou_bin = vec![None; tree.ous.len()];
    for (b, bin) in bins.iter().enumerate() {
        for piece in &bin.pieces {
            match piece {
                Piece::Subtree(x) => {
                    for &y in tree.subtree(*x) {
                        ou_bin[y] = Some(b);
                        for &a in &tree.direct[y] {
                            account_bin[a] = Some(b);
                        }
                    }
                }
                Piece::Direct(_, accounts) => {
                    for &a in accounts {
                        account_bin[a] = Some(b);
                    }
                }
            }
        }
    }
    debug_assert!(
        account_bin.iter().all(Option::is_some),
        "an account was not placed"
    );

    // Where each OU's subtree went: one app, or several. An OU with no accounts went with the
    // piece that held it; every such OU is in one, as only OUs with entries are ever split.
    let mut whole = vec![Where::Any; tree.ous.len()];
    for &x in tree.preorder.iter().rev() {
        let mut w = Where::of(ou_bin[x]);
        for &a in &tree.direct[x] {
            w = w.join(Where::of(account_bin[a]));
        }
        for &c in &tree.children[x] {
            w = w.join(whole[c]);
        }
        whole[x] = w;
    }

    let unit = |x: usize, scope, accounts: Vec<usize>| Unit {
        ou: tree.ous[x].id.clone(),
        ou_name: tree.ous[x].name.clone(),
        scope,
        ous: match scope {
            Scope::Subtree => tree.subtree(x).len(),
            Scope::DirectAccounts => 0,
        },
        entries: sum(accounts.iter().map(|&a| tree.accounts[a].entries)),
        accounts: accounts.iter().map(|&a| tree.accounts[a].id).collect(),
    };
    let mut stack = vec![tree.root];
    while let Some(x) = stack.pop() {
        if let Where::In(b) = whole[x] {
            plans[b]
                .units
                .push(unit(x, Scope::Subtree, tree.subtree_accounts(x)));
            continue;
        }
        let mut by_bin: BTreeMap<usize, Vec<usize>> = BTreeMap::new();
        for &a in &tree.direct[x] {
            if let Some(b) = account_bin[a] {
                by_bin.entry(b).or_default().push(a);
            }
        }
        for (b, accounts) in by_bin {
            plans[b]
                .units
                .push(unit(x, Scope::DirectAccounts, accounts));
        }
        stack.extend(tree.children[x].iter().rev());
    }
    for plan in plans.iter_mut() {
        plan.ous = plan.units.iter().map(|u| u.ous).sum();
        plan.accounts = plan.units.iter().map(|u| u.accounts.len()).sum();
        plan.entries = sum(plan.units.iter().map(|u| u.entries));
    }

    tree.accounts
        .iter()
        .enumerate()
        .filter_map(|(a, account)| match (home[a], account_bin[a]) {
            (Some(from), Some(to)) if from != to => Some(Move {
                account: account.id,
                from: plans[from].name.clone(),
                to: plans[to].name.clone(),
                entries: account.entries,
            }),
            _ => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use proptest::sample::Index;

    use super::*;

    fn account_id(n: usize) -> AccountId {
        format!("{n:012}").parse().unwrap()
    }

    /// `r-root` for `root`, else `ou-root-` and the name padded with `0`s to 8 characters, so
    /// the ids sort as the names do.
    fn ou_id(name: &str) -> OuId {
        if name == "root" {
            "r-root".parse().unwrap()
        } else {
            format!("ou-root-{name:0<8}").parse().unwrap()
        }
    }

    fn app(name: &str) -> AppName {
        name.parse().unwrap()
    }

    /// Builds an Organization: OUs by short name, accounts numbered in the order added.
    struct Org {
        ous: Vec<Ou>,
        accounts: Vec<Account>,
    }

    impl Org {
        fn new() -> Org {
            Org {
                ous: vec![Ou {
                    id: ou_id("root"),
                    name: "Root".to_owned(),
                    parent: None,
                }],
                accounts: Vec::new(),
            }
        }

        fn ou(mut self, name: &str, parent: &str) -> Org {
            self.ous.push(Ou {
                id: ou_id(name),
                name: name.to_owned(),
                parent: Some(ou_id(parent)),
            });
            self
        }

        /// `count` accounts of `entries` each in OU `ou`, living in `current` today.
        fn accounts(
            mut self,
            ou: &str,
            count: usize,
            entries: usize,
            current: Option<&str>,
        ) -> Org {
            for _ in 0..count {
                self.accounts.push(Account {
                    id: account_id(self.accounts.len() + 1),
                    ou: ou_id(ou),
                    entries,
                    current_app: current.map(app),
                });
            }
            self
        }

        fn tree(&self) -> OrgTree {
            OrgTree::new(self.ous.clone(), self.accounts.clone()).unwrap()
        }
    }

    fn apps(existing: &[&str], count: AppCount) -> Apps {
        Apps {
            existing: existing
                .iter()
                .map(|name| App {
                    name: app(name),
                    capacity: Capacity::default(),
                })
                .collect(),
            new_apps: Capacity::default(),
            count,
        }
    }

    fn names(plan: &ShardPlan) -> Vec<&str> {
        plan.apps.iter().map(|a| a.name.as_str()).collect()
    }

    /// 60 accounts of 25 entries (1,500) in four OUs of 15.
    fn sixty_by_25(current: Option<&str>) -> Org {
        let mut org = Org::new();
        for ou in ["one", "two", "three", "four"] {
            org = org.ou(ou, "root").accounts(ou, 15, 25, current);
        }
        org
    }

    #[test]
    fn a_small_tree_fits_in_one_app_as_one_unit() {
        let org = Org::new()
            .ou("dev", "root")
            .ou("prod", "root")
            .accounts("dev", 3, 10, None)
            .accounts("prod", 2, 10, None)
            .accounts("root", 1, 4, None);
        let plan = split(&org.tree(), &apps(&[], AppCount::AsNeeded)).unwrap();
        assert_eq!(names(&plan), ["shard-1"]);
        let only = &plan.apps[0];
        assert!(only.new);
        assert_eq!((only.ous, only.accounts, only.entries), (3, 6, 54));
        assert_eq!(only.fill(), 54.0 / 1200.0);
        assert_eq!(only.units.len(), 1);
        assert_eq!(only.units[0].ou, ou_id("root"));
        assert_eq!(only.units[0].scope, Scope::Subtree);
        assert!(plan.moves.is_empty());
    }

    #[test]
    fn sixty_accounts_of_25_entries_need_two_apps_of_at_most_960() {
        let plan = split(&sixty_by_25(None).tree(), &apps(&[], AppCount::AsNeeded)).unwrap();
        assert_eq!(names(&plan), ["shard-1", "shard-2"]);
        for a in &plan.apps {
            assert_eq!(a.target(), 960);
            assert!(a.entries <= 960, "{}: {}", a.name, a.entries);
            // Whole OUs only: 375 + 375 each.
            assert_eq!((a.entries, a.ous, a.units.len()), (750, 2, 2));
            assert!(a.units.iter().all(|u| u.scope == Scope::Subtree));
        }
    }

    #[test]
    fn an_ou_bigger_than_the_target_is_split_into_its_children_and_its_accounts() {
        // big: 500 + 500 in two child OUs, and 10 accounts of 10 of its own: 1,100 > 960.
        let org = Org::new()
            .ou("big", "root")
            .ou("childa", "big")
            .ou("childb", "big")
            .ou("small", "root")
            .accounts("childa", 20, 25, None)
            .accounts("childb", 20, 25, None)
            .accounts("big", 10, 10, None)
            .accounts("small", 4, 25, None);
        let plan = split(&org.tree(), &apps(&[], AppCount::AsNeeded)).unwrap();
        assert_eq!(plan.apps.len(), 2);
        let units: Vec<(usize, &OuId, Scope, usize)> = plan
            .apps
            .iter()
            .enumerate()
            .flat_map(|(i, a)| a.units.iter().map(move |u| (i, &u.ou, u.scope, u.entries)))
            .collect();
        assert_eq!(
            units,
            [
                (0, &ou_id("big"), Scope::DirectAccounts, 100),
                (0, &ou_id("childa"), Scope::Subtree, 500),
                (0, &ou_id("small"), Scope::Subtree, 100),
                (1, &ou_id("childb"), Scope::Subtree, 500),
            ]
        );
        assert!(plan.apps.iter().all(|a| a.entries <= a.target()));
    }

    #[test]
    fn an_ou_of_too_many_accounts_is_split_down_to_accounts() {
        let org = Org::new().ou("flat", "root").accounts("flat", 50, 25, None);
        let plan = split(&org.tree(), &apps(&[], AppCount::AsNeeded)).unwrap();
        let units: Vec<(Scope, usize, usize)> = plan
            .apps
            .iter()
            .flat_map(|a| &a.units)
            .map(|u| (u.scope, u.accounts.len(), u.entries))
            .collect();
        assert_eq!(
            units,
            [
                (Scope::DirectAccounts, 38, 950),
                (Scope::DirectAccounts, 12, 300)
            ]
        );
    }

    #[test]
    fn accounts_stay_in_their_app_when_it_holds_them() {
        // Everything would fit in one app; nothing is consolidated, and the new account rides
        // along with its OU.
        let org = Org::new()
            .ou("one", "root")
            .ou("two", "root")
            .accounts("one", 10, 20, Some("alpha"))
            .accounts("one", 1, 20, None)
            .accounts("two", 10, 20, Some("beta"));
        let plan = split(&org.tree(), &apps(&["beta", "alpha"], AppCount::AsNeeded)).unwrap();
        assert_eq!(names(&plan), ["alpha", "beta"]);
        assert!(plan.moves.is_empty(), "{:?}", plan.moves);
        assert_eq!(plan.moved_entries(), 0);
        let units = |i: usize| -> Vec<(&OuId, Scope, usize)> {
            plan.apps[i]
                .units
                .iter()
                .map(|u| (&u.ou, u.scope, u.accounts.len()))
                .collect()
        };
        assert_eq!(units(0), [(&ou_id("one"), Scope::Subtree, 11)]);
        assert_eq!(units(1), [(&ou_id("two"), Scope::Subtree, 10)]);
    }

    #[test]
    fn an_overfull_app_keeps_what_fits_and_moves_the_rest() {
        // 1,500 entries live in one app of target 960, in four OUs of 375: two stay, and the
        // other two move whole, since each fits an app on its own (an OU is split only when it
        // alone is too big).
        let org = sixty_by_25(Some("aws"));
        let plan = split(&org.tree(), &apps(&["aws"], AppCount::AsNeeded)).unwrap();
        assert_eq!(names(&plan), ["aws", "shard-2"]);
        assert_eq!(plan.moved_entries(), 750);
        assert_eq!(plan.moves.len(), 30);
        assert!(plan.moves.iter().all(|m| m.from.as_str() == "aws"));
        assert!(plan.moves.iter().all(|m| m.to.as_str() == "shard-2"));
        assert_eq!(
            plan.apps.iter().map(|a| a.entries).collect::<Vec<_>>(),
            [750, 750]
        );
        // By id: four and one stay whole, three and two move whole.
        let scopes: Vec<Vec<(&OuId, Scope)>> = plan
            .apps
            .iter()
            .map(|a| a.units.iter().map(|u| (&u.ou, u.scope)).collect())
            .collect();
        assert_eq!(
            scopes,
            [
                vec![
                    (&ou_id("four"), Scope::Subtree),
                    (&ou_id("one"), Scope::Subtree),
                ],
                vec![
                    (&ou_id("three"), Scope::Subtree),
                    (&ou_id("two"), Scope::Subtree),
                ],
            ]
        );
    }

    #[test]
    fn an_account_above_every_target_is_an_error_naming_it() {
        let org = Org::new()
            .ou("data", "root")
            .accounts("data", 2, 10, None)
            .accounts("data", 1, 1000, None);
        let err = split(&org.tree(), &apps(&[], AppCount::AsNeeded)).unwrap_err();
        assert_eq!(
            err,
            ShardError::AccountTooLarge {
                account: account_id(3),
                ou: ou_id("data"),
                entries: 1000,
                target: 960,
            }
        );
        let text = err.to_string();
        for part in ["000000000003", "ou-root-data0000", "1000", "960"] {
            assert!(text.contains(part), "{text}");
        }
        let fixed = split(&org.tree(), &apps(&[], AppCount::Fixed(3))).unwrap_err();
        assert!(
            matches!(fixed, ShardError::AccountTooLarge { .. }),
            "{fixed}"
        );
    }

    #[test]
    fn too_few_fixed_apps_is_an_error_with_the_numbers() {
        let err = split(&sixty_by_25(None).tree(), &apps(&[], AppCount::Fixed(1))).unwrap_err();
        assert_eq!(
            err,
            ShardError::NotEnoughApps {
                apps: 1,
                entries: 1500,
                target: 960,
            }
        );
        let text = err.to_string();
        assert!(text.contains("1500") && text.contains("960"), "{text}");
        let two = split(&sixty_by_25(None).tree(), &apps(&[], AppCount::Fixed(2))).unwrap();
        assert_eq!(two.apps.len(), 2);
    }

    #[test]
    fn a_fixed_count_first_fit_cannot_finish_is_an_error_naming_the_account() {
        // Two apps of 10 hold 20 together, but 7, 5, 4 and 4 do not pack into them: first fit
        // puts 7 in one, 5 and 4 in the other, and the last 4 meets 3 and 1 free.
        let org = Org::new()
            .ou("a", "root")
            .ou("b", "root")
            .ou("c", "root")
            .ou("d", "root")
            .accounts("a", 1, 7, None)
            .accounts("b", 1, 5, None)
            .accounts("c", 1, 4, None)
            .accounts("d", 1, 4, None);
        let ten = Capacity {
            cap: 10,
            target_fill: TargetFill::new(1.0).unwrap(),
        };
        let apps = Apps {
            existing: Vec::new(),
            new_apps: ten,
            count: AppCount::Fixed(2),
        };
        let err = split(&org.tree(), &apps).unwrap_err();
        assert_eq!(
            err,
            ShardError::NoRoom {
                account: account_id(4),
                ou: ou_id("d"),
                entries: 4,
                apps: 2,
                free: 3,
            }
        );
        let as_needed = Apps {
            count: AppCount::AsNeeded,
            ..apps
        };
        assert_eq!(split(&org.tree(), &as_needed).unwrap().apps.len(), 3);
    }

    #[test]
    fn new_apps_are_named_after_their_position_skipping_taken_names() {
        let org = sixty_by_25(None);
        let plan = split(&org.tree(), &apps(&["aws"], AppCount::Fixed(3))).unwrap();
        assert_eq!(names(&plan), ["aws", "shard-2", "shard-3"]);
        assert_eq!(
            plan.apps.iter().map(|a| a.new).collect::<Vec<_>>(),
            [false, true, true]
        );
        let plan = split(&org.tree(), &apps(&["shard-2"], AppCount::Fixed(3))).unwrap();
        assert_eq!(names(&plan), ["shard-2", "shard-3", "shard-4"]);
    }

    #[test]
    fn app_lists_that_cannot_work_are_refused_naming_the_app() {
        let org = Org::new().accounts("root", 1, 5, Some("gone"));
        let err = split(&org.tree(), &apps(&["aws"], AppCount::AsNeeded)).unwrap_err();
        assert_eq!(
            err,
            ShardError::UnknownApp {
                account: account_id(1),
                app: app("gone"),
            }
        );
        let org = Org::new().accounts("root", 1, 5, None);
        let err = split(&org.tree(), &apps(&["aws", "aws"], AppCount::AsNeeded)).unwrap_err();
        assert_eq!(err, ShardError::DuplicateApp { app: app("aws") });
        let err = split(&org.tree(), &apps(&["a", "b"], AppCount::Fixed(1))).unwrap_err();
        assert_eq!(
            err,
            ShardError::FewerAppsThanExisting {
                apps: 1,
                existing: 2
            }
        );
        let err = split(&org.tree(), &apps(&[], AppCount::Fixed(0))).unwrap_err();
        assert_eq!(err, ShardError::NoApps);
    }

    #[test]
    fn growth_asks_for_more_apps_at_the_same_target() {
        let tree = sixty_by_25(None).tree();
        let apps = apps(&[], AppCount::Fixed(7));
        let needed = |factor: f64| apps_needed(&tree, &apps, GrowthFactor::new(factor).unwrap());
        assert_eq!(needed(1.0), Ok(2));
        // 25 × 1.5 rounds up to 38: 2,280 entries.
        assert_eq!(needed(1.5), Ok(3));
        assert_eq!(needed(0.5), Ok(1));
        assert!(matches!(
            needed(40.0),
            Err(ShardError::AccountTooLarge { .. })
        ));
    }

    #[test]
    fn a_malformed_tree_is_refused_naming_the_ou_or_account() {
        let root = Org::new();
        let err = |org: &Org| OrgTree::new(org.ous.clone(), org.accounts.clone()).unwrap_err();

        let twice = Org::new().ou("a", "root").ou("a", "root");
        assert_eq!(err(&twice), TreeError::DuplicateOu { ou: ou_id("a") });
        assert_eq!(
            OrgTree::new(Vec::new(), Vec::new()).unwrap_err(),
            TreeError::NoRoot
        );
        let mut two_roots = Org::new();
        two_roots.ous.push(Ou {
            id: "r-else".parse().unwrap(),
            name: "Else".to_owned(),
            parent: None,
        });
        assert!(matches!(err(&two_roots), TreeError::TwoRoots { .. }));
        let orphan = Org::new().ou("a", "nowhere");
        assert_eq!(
            err(&orphan),
            TreeError::UnknownParent {
                ou: ou_id("a"),
                parent: ou_id("nowhere")
            }
        );
        let cycle = Org::new().ou("a", "b").ou("b", "a");
        assert_eq!(
            err(&cycle),
            TreeError::Cycle {
                ou: ou_id("a"),
                root: ou_id("root")
            }
        );
        let dup = root.accounts("root", 1, 1, None);
        let dup = Org {
            accounts: [dup.accounts.clone(), dup.accounts].concat(),
            ..dup
        };
        assert_eq!(
            err(&dup),
            TreeError::DuplicateAccount {
                account: account_id(1)
            }
        );
        let lost = Org::new().accounts("nowhere", 1, 1, None);
        assert_eq!(
            err(&lost),
            TreeError::UnknownOu {
                account: account_id(1),
                ou: ou_id("nowhere")
            }
        );
    }

    #[test]
    fn ids_names_and_fractions_parse_only_when_valid() {
        for good in ["r-ab12", "ou-ab12-cdef3456", "ou-0000-00000000"] {
            assert_eq!(good.parse::<OuId>().unwrap().to_string(), good);
        }
        for bad in [
            "",
            "r-ab1",
            "R-AB12",
            "ou-ab12",
            "ou-ab12-cdef345",
            "ou-ab12-cdef-3456",
        ] {
            let err = bad.parse::<OuId>().unwrap_err().to_string();
            assert!(err.contains("OU id"), "{bad:?}: {err}");
        }
        assert!(" aws".parse::<AppName>().is_err() && "".parse::<AppName>().is_err());

        let fill = |s: &str| s.parse::<TargetFill>();
        assert_eq!(fill("0.8").unwrap(), TargetFill::DEFAULT);
        let of = |f: &str, cap: usize| {
            Capacity {
                cap,
                target_fill: fill(f).unwrap(),
            }
            .target()
        };
        assert_eq!(
            (of("0.8", 1200), of("0.7", 1000), of("1", 1200)),
            (960, 700, 1200)
        );
        for bad in ["0", "-0.5", "1.5", "NaN", "abc", "0.0000001"] {
            assert!(fill(bad).is_err(), "{bad}");
        }
        assert_eq!(TargetFill::DEFAULT.to_string(), "0.8");
        assert_eq!("1.5".parse::<GrowthFactor>().unwrap().scale(25), 38);
        assert!("0".parse::<GrowthFactor>().is_err() && "inf".parse::<GrowthFactor>().is_err());
    }

    /// A generated input: a tree of depth at most 4, a few dozen accounts of 0 to 39 entries,
    /// up to three existing apps of random caps that accounts live in at random.
    #[derive(Clone, Debug)]
    struct Case {
        ous: Vec<Ou>,
        accounts: Vec<Account>,
        apps: Apps,
    }

    impl Case {
        fn split(&self) -> Result<ShardPlan, ShardError> {
            split(
                &OrgTree::new(self.ous.clone(), self.accounts.clone()).unwrap(),
                &self.apps,
            )
        }

        fn reversed(&self) -> Case {
            let mut case = self.clone();
            case.ous.reverse();
            case.accounts.reverse();
            case.apps.existing.reverse();
            case
        }
    }

    fn case() -> impl Strategy<Value = Case> {
        (
            proptest::collection::vec(any::<Index>(), 0..12),
            proptest::collection::vec((any::<Index>(), 0..40usize, 0..5usize), 0..40),
            proptest::collection::vec(40..400usize, 0..=3),
            proptest::option::of(0..4usize),
        )
            .prop_map(|(parents, accounts, caps, fixed)| {
                let mut ous = vec![Ou {
                    id: ou_id("root"),
                    name: "Root".to_owned(),
                    parent: None,
                }];
                let mut depth = vec![0];
                for (i, pick) in parents.iter().enumerate() {
                    let open: Vec<usize> = (0..ous.len()).filter(|&j| depth[j] < 4).collect();
                    let parent = open[pick.index(open.len())];
                    ous.push(Ou {
                        id: ou_id(&format!("{i:02}")),
                        name: format!("OU {i}"),
                        parent: Some(ous[parent].id.clone()),
                    });
                    depth.push(depth[parent] + 1);
                }
                let existing: Vec<App> = caps
                    .iter()
                    .enumerate()
                    .map(|(i, &cap)| App {
                        name: app(&format!("app-{i}")),
                        capacity: Capacity {
                            cap,
                            target_fill: TargetFill::DEFAULT,
                        },
                    })
                    .collect();
                let accounts = accounts
                    .iter()
                    .enumerate()
                    .map(|(i, (ou, entries, current))| Account {
                        id: account_id(i + 1),
                        ou: ous[ou.index(ous.len())].id.clone(),
                        entries: *entries,
                        current_app: existing.get(*current).map(|a| a.name.clone()),
                    })
                    .collect();
                let count = fixed.map_or(AppCount::AsNeeded, |more| {
                    AppCount::Fixed(existing.len().max(1) + more)
                });
                let new_apps = Capacity {
                    cap: 300,
                    target_fill: TargetFill::DEFAULT,
                };
                Case {
                    ous,
                    accounts,
                    apps: Apps {
                        existing,
                        new_apps,
                        count,
                    },
                }
            })
    }

    /// The plan, or why not; as needed, there must be a plan (new apps hold any account).
    fn plan_or_capacity_error(case: &Case) -> Result<Option<ShardPlan>, TestCaseError> {
        match case.split() {
            Ok(plan) => Ok(Some(plan)),
            Err(e) => {
                prop_assert!(case.apps.count != AppCount::AsNeeded, "{e}");
                prop_assert!(
                    matches!(
                        e,
                        ShardError::AccountTooLarge { .. }
                            | ShardError::NotEnoughApps { .. }
                            | ShardError::NoRoom { .. }
                    ),
                    "{e}"
                );
                Ok(None)
            }
        }
    }

    proptest! {
        #[test]
        fn every_account_lands_in_exactly_one_app_within_its_target(case in case()) {
            let Some(plan) = plan_or_capacity_error(&case)? else { return Ok(()) };
            let mut placed: Vec<&AccountId> = plan
                .apps
                .iter()
                .flat_map(|a| a.units.iter().flat_map(|u| &u.accounts))
                .collect();
            placed.sort();
            let mut given: Vec<&AccountId> = case.accounts.iter().map(|a| &a.id).collect();
            given.sort();
            prop_assert_eq!(placed, given);
            for a in &plan.apps {
                prop_assert!(a.entries <= a.target(), "{} holds {} > {}", a.name, a.entries, a.target());
            }
            if let AppCount::Fixed(n) = case.apps.count {
                prop_assert_eq!(plan.apps.len(), n);
            }
        }

        #[test]
        fn entries_are_conserved(case in case()) {
            let Some(plan) = plan_or_capacity_error(&case)? else { return Ok(()) };
            let entries: BTreeMap<&AccountId, usize> =
                case.accounts.iter().map(|a| (&a.id, a.entries)).collect();
            for a in &plan.apps {
                for u in &a.units {
                    prop_assert_eq!(u.entries, u.accounts.iter().map(|id| entries[id]).sum::<usize>());
                }
                prop_assert_eq!(a.entries, a.units.iter().map(|u| u.entries).sum::<usize>());
                prop_assert_eq!(a.accounts, a.units.iter().map(|u| u.accounts.len()).sum::<usize>());
            }
            prop_assert_eq!(
                plan.apps.iter().map(|a| a.entries).sum::<usize>(),
                entries.values().sum::<usize>()
            );
        }

        #[test]
        fn the_same_input_in_any_order_gives_the_same_split(case in case()) {
            let first = case.split();
            prop_assert_eq!(&first, &case.split());
            prop_assert_eq!(&first, &case.reversed().split());
        }

        #[test]
        fn accounts_stay_in_an_app_that_holds_them_today(case in case()) {
            let Some(plan) = plan_or_capacity_error(&case)? else { return Ok(()) };
            for existing in &case.apps.existing {
                let today: usize = case
                    .accounts
                    .iter()
                    .filter(|a| a.current_app.as_ref() == Some(&existing.name))
                    .map(|a| a.entries)
                    .sum();
                if today <= existing.capacity.target() {
                    prop_assert!(
                        plan.moves.iter().all(|m| m.from != existing.name),
                        "{} holds {today} of {} today, yet {:?}",
                        existing.name, existing.capacity.target(), plan.moves
                    );
                }
            }
            for m in &plan.moves {
                let holder = plan.apps.iter().find(|a| {
                    a.units.iter().any(|u| u.accounts.contains(&m.account))
                });
                prop_assert_eq!(holder.map(|a| &a.name), Some(&m.to));
            }
        }
    }
}
