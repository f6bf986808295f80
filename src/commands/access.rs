//! access: `fedsync access list | grant | revoke` — the Graph calls around the pure
//! [`crate::access`] core. It reads the service principal, its assignments, the synced groups
//! and the members of assigned groups (transitive members first; the direct members of nested
//! groups only when there are any, to find each user's path), then joins, filters and prints.
//! Grant and revoke decide first and write at most one thing; `--dry-run` writes nothing.
//!
//! Exit codes: 0 done (or nothing to do), 1 Graph failed, 2 invalid settings or an unknown role,
//! user or group (with the closest matches), or a grant that would not grant; nothing written.

use std::collections::{HashMap, HashSet};

use anyhow::{Context, anyhow};

use super::{Global, block_on, load_settings};
use crate::access::change::{self, Change, Current, Decision, Principal, Route};
use crate::access::join::{self, Directory, Filter};
use crate::access::render;
use crate::access::roles::{GroupName, group_name, hint};
use crate::access::{SyncedRole, closest, resolve_role, synced_roles};
use crate::cli::{AccessChangeArgs, AccessListArgs, AccessOutput};
use crate::exit::{ExitStatus, Failure};
use crate::graph::{GraphClient, GraphError, RetryPolicy};
use crate::model::{AccountId, AppRoleId, Group, Member, ObjectId, PrincipalType, SyncState};
use crate::naming::{self, NamingConvention, NamingInput};
use crate::plan::groups::stands_behind;
use crate::settings::{AccessSettings, Settings};

/// `fedsync access list`.
pub fn list(args: &AccessListArgs, global: &Global) -> Result<ExitStatus, Failure> {
    let account = args
        .account
        .as_deref()
        .map(|a| a.trim().parse::<AccountId>())
        .transpose()
        .context("--account is not an AWS account id")
        .map_err(Failure::invalid)?;
    let filter = Filter {
        account,
        role: args.role.clone(),
        principal: args.principal.clone(),
    };
    let inputs = global.inputs(args.settings.flags());
    let app = args.settings.entra.app.as_deref();
    let reports = block_on(async {
        let loaded = load_settings(&inputs, None).await?;
        let apps = super::chosen_apps(&loaded, app)?;
        if apps.len() > 1 && args.output == AccessOutput::Csv {
            return Err(Failure::invalid(anyhow::anyhow!(
                "the settings name {} apps; --output csv lists one: say which with --app NAME",
                apps.len()
            )));
        }
        let mut reports = Vec::new();
        for name in apps {
            let (settings, graph) = connect(&loaded, Some(name.as_str())).await?;
            let directory = gather(&settings, &graph, &filter).await.with_context(|| {
                format!("cannot read who holds the roles of app {name} from Microsoft Graph")
            })?;
            reports.push((name, filter.narrow(join::join(&directory))));
        }
        Ok::<_, Failure>(reports)
    })??;
    let text = match (args.output, reports.as_slice()) {
        (AccessOutput::Text, [(_, report)]) => render::to_text(report),
        (AccessOutput::Json, [(name, report)]) => {
            let mut value = render::to_json(report);
            value["app"] = serde_json::json!(name.as_str());
            format!("{value:#}\n")
        }
        (AccessOutput::Csv, [(_, report)]) => {
            render::to_csv(report).context("cannot write the CSV")?
        }
        (AccessOutput::Json, many) => {
            let values: Vec<serde_json::Value> = many
                .iter()
                .map(|(name, report)| {
                    let mut value = render::to_json(report);
                    value["app"] = serde_json::json!(name.as_str());
                    value
                })
                .collect();
            format!("{:#}\n", serde_json::Value::Array(values))
        }
        (_, many) => many
            .iter()
            .map(|(name, report)| format!("== app {name} ==\n{}\n", render::to_text(report)))
            .collect(),
    };
    crate::printer::stdout(&text)?;
    Ok(ExitStatus::Success)
}

/// `fedsync access grant` (`grant` true) and `fedsync access revoke`.
pub fn change(
    args: &AccessChangeArgs,
    global: &Global,
    grant: bool,
) -> Result<ExitStatus, Failure> {
    let inputs = global.inputs(args.settings.flags());
    let said = block_on(async {
        let loaded = load_settings(&inputs, None).await?;
        let (settings, graph) = connect(&loaded, args.settings.entra.app.as_deref()).await?;
        decide_and_apply(&settings, &graph, args, grant).await
    })??;
    crate::printer::stdout(&format!("{said}\n"))?;
    Ok(ExitStatus::Success)
}

/// The settings of the one app `app` names, or the only one (exit 2 when invalid, or when the
/// settings name several and `app` is none), and a Graph client. AWS is only read for SSM or
/// the credential's secret, when those are set.
async fn connect(
    loaded: &Settings,
    app: Option<&str>,
) -> Result<(AccessSettings, GraphClient), Failure> {
    let (_, view) = super::one_app(loaded, app)?;
    let credential = view.credential(None).await;
    let settings = view.access(&credential).map_err(Failure::invalid)?;
    let graph = GraphClient::new(settings.graph.clone(), RetryPolicy::default())?;
    Ok((settings, graph))
}

/// The synced roles, and every app role id of the service principal.
async fn read_roles(
    settings: &AccessSettings,
    graph: &GraphClient,
) -> anyhow::Result<(Vec<SyncedRole>, HashSet<AppRoleId>)> {
    let (_, sp) = graph
        .service_principal(&settings.service_principal_id)
        .await
        .context("cannot read the AWS app's service principal")?;
    let all = sp.app_roles.iter().map(|r| r.id).collect();
    Ok((synced_roles(&sp.app_roles), all))
}

/// Everything `list` joins, for the roles the filter keeps.
async fn gather(
    settings: &AccessSettings,
    graph: &GraphClient,
    filter: &Filter,
) -> anyhow::Result<Directory> {
    let (roles, all_role_ids) = read_roles(settings, graph).await?;
    let roles: Vec<SyncedRole> = roles.into_iter().filter(|r| filter.keeps_role(r)).collect();
    let assignments = graph.assignments(&settings.service_principal_id).await?;
    let mut directory = Directory {
        synced_groups: synced_groups(graph, settings, &roles).await?.0,
        roles,
        all_role_ids,
        ..Directory::default()
    };
    for g in directory.synced_groups.values() {
        directory.groups.insert(g.id.clone(), g.clone());
    }
    for a in assignments
        .iter()
        .filter(|a| a.principal_type == PrincipalType::Group)
    {
        directory
            .groups
            .entry(a.principal_id.clone())
            .or_insert_with(|| Group {
                id: a.principal_id.clone(),
                display_name: a
                    .principal_display_name
                    .clone()
                    .unwrap_or_else(|| a.principal_id.to_string()),
                mail_nickname: None,
                owners: None,
            });
    }
    for id in join::assigned_groups(&directory.roles, &assignments) {
        expand(graph, &id, &mut directory).await?;
    }
    for id in join::assigned_users(&directory.roles, &assignments) {
        if let Some(user) = graph.user(id.as_str()).await? {
            directory.users.insert(id, user);
        }
    }
    directory.assignments = assignments;
    Ok(directory)
}

/// The members of `group`: its transitive members when it has no nested group (one paged
/// call), else the direct members of it and of every group inside it, to know the paths.
async fn expand(
    graph: &GraphClient,
    group: &ObjectId,
    directory: &mut Directory,
) -> Result<(), GraphError> {
    if directory.members.contains_key(group) {
        return Ok(());
    }
    let all = graph.transitive_members(group).await?;
    let nested: Vec<Group> = all
        .iter()
        .filter_map(|m| match m {
            Member::Group(g) => Some(g.clone()),
            _ => None,
        })
        .collect();
    if nested.is_empty() {
        directory.members.insert(group.clone(), all);
        return Ok(());
    }
    let direct = graph.members(group).await?;
    directory.members.insert(group.clone(), direct);
    for g in nested {
        if !directory.members.contains_key(&g.id) {
            let members = graph.members(&g.id).await?;
            directory.members.insert(g.id.clone(), members);
        }
        directory.groups.entry(g.id.clone()).or_insert(g);
    }
    Ok(())
}

/// The group sync made for each role, found by name: one paged search on the names' common
/// prefix, or one exact lookup per role when there are few.
///
/// Returns the groups fedsync stands behind ([`crate::plan::groups::stands_behind`]: owned by
/// `group-owner-id`, by default the sync app's own service principal), and apart from them the
/// groups of the right name that are someone else's: never a route to a role.
async fn synced_groups(
    graph: &GraphClient,
    settings: &AccessSettings,
    roles: &[SyncedRole],
) -> Result<(HashMap<AppRoleId, Group>, HashMap<AppRoleId, Group>), GraphError> {
    let naming = settings.group_naming.as_ref();
    let names: Vec<GroupName> = roles.iter().map(|r| group_name(r, naming)).collect();
    let mut groups: Vec<Group> = Vec::new();
    let exact: Option<Vec<&str>> = names.iter().map(GroupName::exact).collect();
    match exact {
        _ if names.is_empty() => {}
        Some(exact) if exact.len() <= 3 => {
            for name in exact {
                groups.extend(graph.groups_named(name).await?);
            }
        }
        _ => {
            let prefixes: Vec<&str> = names.iter().map(GroupName::prefix).collect();
            let prefix = naming::common_prefix(&prefixes);
            groups = graph.groups_starting_with(prefix, true).await?;
        }
    }
    let owner = match &settings.group_owner_id {
        Some(owner) => Some(owner.clone()),
        None if groups.is_empty() => None,
        None => {
            graph
                .service_principal_of_app(&settings.graph.client_id)
                .await?
        }
    };
    let (ours, theirs): (Vec<Group>, Vec<Group>) = groups
        .into_iter()
        .partition(|g| stands_behind(g, owner.as_ref(), &SyncState::default()));
    Ok((
        join::match_synced_groups(roles, &names, &ours),
        join::match_synced_groups(roles, &names, &theirs),
    ))
}

/// The synced group's name as people read it, `{account_name}` left in when the convention has it.
fn expected_group_name(role: &SyncedRole, naming: Option<&NamingConvention>) -> String {
    match naming {
        None => role.display_name.clone(),
        Some(convention) => convention.render(&NamingInput {
            account_id: role.account(),
            account_name: "{account_name}",
            role: role.value.role(),
        }),
    }
}

/// The user or group the command names; an unknown one exits 2 with the closest names.
async fn find_principal(
    graph: &GraphClient,
    args: &AccessChangeArgs,
) -> Result<Principal, Failure> {
    let start = |s: &str| s.chars().take(3).collect::<String>();
    if let Some(upn) = args.user.as_deref().map(str::trim) {
        if let Some(user) = graph.user(upn).await? {
            return Ok(Principal {
                id: user.id,
                label: user.user_principal_name,
                is_group: false,
            });
        }
        let near = graph.users_starting_with(&start(upn)).await?;
        let suggestions = closest(upn, near.into_iter().map(|u| u.user_principal_name));
        return Err(Failure::invalid(anyhow!(
            "no user is named {upn:?}{}",
            hint(&suggestions)
        )));
    }
    let name = args.group.as_deref().map(str::trim).unwrap_or_default();
    let found = graph.groups_named(name).await?;
    match found.as_slice() {
        [group] => Ok(Principal {
            id: group.id.clone(),
            label: format!("group {}", group.display_name),
            is_group: true,
        }),
        [] => {
            let near = graph.groups_starting_with(&start(name), true).await?;
            let suggestions = closest(name, near.into_iter().map(|g| g.display_name));
            Err(Failure::invalid(anyhow!(
                "no group is named {name:?}{}",
                hint(&suggestions)
            )))
        }
        many => Err(Failure::invalid(anyhow!(
            "{} groups are named {name:?} (ids {}); rename all but one in Entra ID",
            many.len(),
            many.iter()
                .map(|g| g.id.to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ))),
    }
}

async fn decide_and_apply(
    settings: &AccessSettings,
    graph: &GraphClient,
    args: &AccessChangeArgs,
    grant: bool,
) -> Result<String, Failure> {
    let (roles, _) = read_roles(settings, graph).await?;
    let role = resolve_role(&roles, &args.role)
        .map_err(Failure::invalid)?
        .clone();
    let principal = find_principal(graph, args).await?;
    let sp = &settings.service_principal_id;
    let assignments = graph.assignments(sp).await?;
    let assigned = |id: &ObjectId| {
        assignments
            .iter()
            .find(|a| a.app_role_id == role.id && &a.principal_id == id)
    };
    let mut current = Current {
        member: false,
        assignment: assigned(&principal.id).map(|a| a.id.clone()),
    };
    let route = if args.direct {
        Route::Direct
    } else {
        let naming = settings.group_naming.as_ref();
        let (mut ours, mut theirs) =
            synced_groups(graph, settings, std::slice::from_ref(&role)).await?;
        let group = ours.remove(&role.id);
        if let (None, Some(foreign)) = (&group, theirs.remove(&role.id)) {
            let owners: Vec<String> = foreign
                .owners
                .unwrap_or_default()
                .iter()
                .map(ToString::to_string)
                .collect();
            return Err(Failure::invalid(anyhow!(
                "the group {} of role {} is not fedsync's (owned by {}): fedsync neither adds to it nor removes from it; use --direct, or make group-owner-id its owner",
                foreign.display_name,
                role.display_name,
                if owners.is_empty() {
                    "nobody".to_owned()
                } else {
                    owners.join(", ")
                }
            )));
        }
        if let Some(group) = &group {
            current.member = graph
                .members(&group.id)
                .await?
                .iter()
                .any(|m| m.id() == &principal.id);
        }
        Route::SyncedGroup {
            assigned: group.as_ref().is_some_and(|g| assigned(&g.id).is_some()),
            group,
            expected_name: expected_group_name(&role, naming),
        }
    };
    let decision = if grant {
        change::grant(&role, &principal, &route, &current)
    } else {
        change::revoke(&role, &principal, &route, &current)
    };
    match decision {
        Decision::Refuse(why) => Err(Failure::invalid(anyhow!(why))),
        Decision::Nothing(why) => Ok(why),
        Decision::Write(change) => {
            if !args.dry_run {
                apply(graph, sp, &role, &change).await.with_context(|| {
                    let would = change.describe(&role, true);
                    format!("cannot {}", would.trim_start_matches("would "))
                })?;
            }
            Ok(change.describe(&role, args.dry_run))
        }
    }
}

/// The one write a decision asks for.
async fn apply(
    graph: &GraphClient,
    sp: &str,
    role: &SyncedRole,
    change: &Change,
) -> Result<(), GraphError> {
    match change {
        Change::AddMember { group, member } => {
            graph.add_member(&group.id, &member.id).await?;
        }
        Change::RemoveMember { group, member } => {
            graph.remove_member(&group.id, &member.id).await?;
        }
        Change::Assign { principal } => {
            graph.assign(sp, &principal.id, role.id).await?;
        }
        Change::Unassign { assignment_id, .. } => graph.unassign(sp, assignment_id).await?,
    }
    Ok(())
}
