//! client: the Graph calls fedsync makes — the AWS app's service principal and its `appRoles`,
//! groups (with their owners), app role assignments, and (for `fedsync access`) users and group
//! membership. The values are [`crate::model`]'s directory types.
//!
//! Every call goes through one loop ([`GraphClient::call`]): it adds the bearer token, renews
//! the token once on `401`, retries what [`retry::decide`] says with a ceiling, and sleeps in one
//! place (a [`Sleeper`], so tests can see the waits without waiting). A request that creates
//! something (a `POST` of a group, a `$batch` of them, an assignment) is never sent twice unless
//! Graph said it did not carry it out (`429`, or no connection made): after a timeout, a reset or
//! a `5xx` it ends in [`GraphError::OutcomeUnknown`], and [`GraphClient::create_groups`] looks the
//! groups up by name instead. Every collection follows
//! `@odata.nextLink` to the end, up to a ceiling of pages, and only on the Graph host itself: the
//! token is never sent anywhere else.

use std::sync::Arc;
use std::time::Duration;

use futures::future::BoxFuture;
use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use reqwest::{Method, StatusCode};
use secrecy::ExposeSecret;
use serde::Deserialize;
use serde_json::{Value, json};

use super::auth::{Credential, TokenSource};
use super::error::{ApiError, GraphError};
use super::retry::{self, Attempt, Decision, RetryPolicy};
use crate::error_text::Cause;
use crate::model::{
    AppRole, AppRoleId, Assignment, AssignmentId, Group, Member, MembershipChange, NewGroup,
    ObjectId, ServicePrincipal, User,
};

/// Whether a request may be sent again when its outcome is unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Replay {
    /// Sending it twice does what sending it once does (`GET`, the whole-collection `PATCH`,
    /// `DELETE`, adding a member Graph refuses to add twice).
    Safe,
    /// Sending it twice may create two of something.
    Never,
}

impl Replay {
    fn of(method: &Method) -> Replay {
        if *method == Method::POST {
            Replay::Never
        } else {
            Replay::Safe
        }
    }
}

/// Whether Graph certainly did not carry out a request answered `status`: throttled.
fn not_carried_out(status: u16) -> bool {
    status == 429
}

/// How long [`GraphClient::find_created`] waits before each lookup.
const FIND_CREATED_WAITS: [Duration; 3] = [
    Duration::from_secs(2),
    Duration::from_secs(4),
    Duration::from_secs(8),
];

/// Whether `group` is the one `asked` would have created: the same display name and mail
/// nickname, and the owner asked for among its owners.
fn is_the_one_asked(group: &Group, asked: &NewGroup) -> bool {
    let owned = match (&asked.owner, &group.owners) {
        (Some(owner), Some(owners)) => owners.contains(owner),
        (None, _) => true,
        (Some(_), None) => false,
    };
    owned
        && group.display_name.eq_ignore_ascii_case(&asked.display_name)
        && group
            .mail_nickname
            .as_deref()
            .is_none_or(|m| m.eq_ignore_ascii_case(&asked.mail_nickname))
}

/// Pages followed at most per collection.
const MAX_PAGES: usize = 10_000;
/// Requests one `$batch` may carry (Graph's limit).
pub const MAX_BATCH: usize = 20;
/// The properties of the service principal fedsync reads: the app roles, and the collections
/// that share their entry cap (counted, never written).
fn sp_select() -> String {
    format!(
        "id,appId,displayName,appRoles,{}",
        crate::model::COLLECTIONS_SHARING_THE_CAP.join(",")
    )
}
/// The properties of a user fedsync reads.
const USER_SELECT: &str = "id,userPrincipalName,displayName";
/// The properties of a group fedsync reads.
const GROUP_PROPERTIES: &str = "id,displayName,mailNickname";
/// The properties of a group fedsync reads, its owners' ids with them (Graph pages an expanded
/// listing by at most 100).
const GROUP_SELECT: &str = "$select=id,displayName,mailNickname&$expand=owners($select=id)";
/// The largest page Graph serves a directory listing (`$top`); without `$top` it serves 100.
const MAX_TOP: usize = 999;
/// The properties of a group member fedsync reads (users and groups alike).
const MEMBER_SELECT: &str = "id,displayName,userPrincipalName,mailNickname";
/// Characters left as they are in a query value or path segment (RFC 3986 unreserved).
const ENCODE: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Where and as whom to call Graph.
#[derive(Clone, Debug)]
pub struct GraphSettings {
    pub tenant_id: String,
    pub client_id: String,
    pub credential: Credential,
    /// Token authority base, such as `https://login.microsoftonline.com`.
    pub authority_url: String,
    /// Graph base, such as `https://graph.microsoft.com`.
    pub graph_url: String,
}

/// Waits between attempts. Production sleeps; tests record.
pub trait Sleeper: Send + Sync {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()>;
}

/// Sleeps on the tokio timer.
pub struct TokioSleeper;

impl Sleeper for TokioSleeper {
    fn sleep(&self, duration: Duration) -> BoxFuture<'static, ()> {
        Box::pin(tokio::time::sleep(duration))
    }
}

/// A Graph client for one tenant and one sync app.
pub struct GraphClient {
    http: reqwest::Client,
    graph_url: String,
    tokens: TokenSource,
    policy: RetryPolicy,
    sleeper: Arc<dyn Sleeper>,
    /// The sync app's own service principal, once looked up, by the client id it was looked up
    /// for: it does not change during a run.
    sync_app: Arc<std::sync::Mutex<Option<SyncApp>>>,
}

/// A client id, and the object id of its service principal (none when the tenant has none).
type SyncApp = (String, Option<ObjectId>);

/// Installs aws-lc-rs as rustls' crypto provider, once per process; reqwest is built without one
/// so that only the provider the AWS SDK already uses is compiled in.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::aws_lc_rs::default_provider().install_default();
}

/// A string literal in an OData `$filter`: in single quotes, each `'` doubled.
pub fn odata_string(value: &str) -> String {
    format!("'{}'", value.replace('\'', "''"))
}

impl GraphClient {
    pub fn new(settings: GraphSettings, policy: RetryPolicy) -> Result<GraphClient, GraphError> {
        // Checked here too, not only as settings: no secret or token in clear text, whoever
        // builds the client.
        for (setting, url) in [
            ("authority-url", &settings.authority_url),
            ("graph-url", &settings.graph_url),
        ] {
            super::cloud::base_url(url).map_err(|reason| GraphError::BadUrl { setting, reason })?;
        }
        install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(policy.request_timeout)
            .connect_timeout(policy.request_timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| GraphError::Transport {
                method: "-".into(),
                path: "-".into(),
                attempts: 0,
                source: Cause::new(format!(
                    "cannot build the HTTP client: {}",
                    crate::error_text::chain(&e)
                )),
            })?;
        let graph_url = settings.graph_url.trim_end_matches('/').to_owned();
        let tokens = TokenSource::new(
            http.clone(),
            &settings.authority_url,
            &settings.tenant_id,
            &graph_url,
            &settings.client_id,
            settings.credential,
        );
        Ok(GraphClient {
            http,
            graph_url,
            tokens,
            policy,
            sleeper: Arc::new(TokioSleeper),
            sync_app: Arc::default(),
        })
    }

    /// Replaces how the client waits between attempts.
    pub fn with_sleeper(mut self, sleeper: Arc<dyn Sleeper>) -> GraphClient {
        self.sleeper = sleeper;
        self
    }

    fn url(&self, path: &str) -> String {
        format!("{}/v1.0/{path}", self.graph_url)
    }

    /// The service principal as Graph returned it (for the backup) and parsed.
    pub async fn service_principal(
        &self,
        id: &str,
    ) -> Result<(Value, ServicePrincipal), GraphError> {
        let path = format!("servicePrincipals/{}?$select={}", seg(id), sp_select());
        let raw = self.get(&path).await?;
        let parsed =
            ServicePrincipal::from_json(&raw.to_string()).map_err(|e| GraphError::Unexpected {
                method: "GET".into(),
                path: path.clone(),
                source: Cause::from(crate::error_text::chain(&e)),
            })?;
        Ok((raw, parsed))
    }

    /// Replaces the service principal's whole `appRoles` collection.
    pub async fn set_app_roles(&self, sp_id: &str, roles: &[AppRole]) -> Result<(), GraphError> {
        let body = json!({ "appRoles": roles });
        self.call(
            Method::PATCH,
            &self.url(&format!("servicePrincipals/{}", seg(sp_id))),
            Some(&body),
        )
        .await?;
        Ok(())
    }

    /// The object id of the service principal of the application `app_id` (a client id), if the
    /// tenant has one.
    pub async fn service_principal_of_app(
        &self,
        app_id: &str,
    ) -> Result<Option<ObjectId>, GraphError> {
        #[derive(Deserialize)]
        struct Id {
            id: ObjectId,
        }
        let filter = format!("appId eq {}", odata_string(app_id));
        let path = format!(
            "servicePrincipals?$filter={}&$select=id",
            utf8_percent_encode(&filter, ENCODE)
        );
        let found: Vec<Id> = self.get_all(&path).await?;
        Ok(found.into_iter().next().map(|sp| sp.id))
    }

    /// [`GraphClient::service_principal_of_app`] for the sync app itself (`client_id`), looked
    /// up once per client: every later read of the run reuses the answer.
    pub async fn sync_app_service_principal(
        &self,
        client_id: &str,
    ) -> Result<Option<ObjectId>, GraphError> {
        let known = self.sync_app.lock().ok().and_then(|k| k.clone());
        if let Some((asked, found)) = known
            && asked == client_id
        {
            return Ok(found);
        }
        let found = self.service_principal_of_app(client_id).await?;
        if let Ok(mut known) = self.sync_app.lock() {
            *known = Some((client_id.to_owned(), found.clone()));
        }
        Ok(found)
    }

    /// Groups whose display name is exactly `name` (Graph compares without regard to case),
    /// with their owners.
    pub async fn groups_named(&self, name: &str) -> Result<Vec<Group>, GraphError> {
        self.groups(&format!("displayName eq {}", odata_string(name)), true)
            .await
    }

    /// Groups whose display name starts with `prefix`, with their owners when `owners` (Graph
    /// pages such a listing by 100), else without them, [`MAX_TOP`] to a page.
    pub async fn groups_starting_with(
        &self,
        prefix: &str,
        owners: bool,
    ) -> Result<Vec<Group>, GraphError> {
        self.groups(
            &format!("startswith(displayName,{})", odata_string(prefix)),
            owners,
        )
        .await
    }

    async fn groups(&self, filter: &str, owners: bool) -> Result<Vec<Group>, GraphError> {
        let select = if owners {
            GROUP_SELECT.to_owned()
        } else {
            format!("$select={GROUP_PROPERTIES}&$top={MAX_TOP}")
        };
        let path = format!(
            "groups?$filter={}&{select}",
            utf8_percent_encode(filter, ENCODE)
        );
        self.get_all(&path).await
    }

    /// The groups the service principal `owner` owns, [`MAX_TOP`] to a page. Each comes with
    /// `owner` as its one known owner (the listing names no others).
    pub async fn groups_owned_by(&self, owner: &ObjectId) -> Result<Vec<Group>, GraphError> {
        let path = format!(
            "servicePrincipals/{}/ownedObjects/microsoft.graph.group?$select={GROUP_PROPERTIES}&$top={MAX_TOP}",
            seg(owner.as_str())
        );
        let mut groups: Vec<Group> = self.get_all(&path).await?;
        for group in &mut groups {
            group.owners = Some(vec![owner.clone()]);
        }
        Ok(groups)
    }

    /// The body of `POST /groups` for `group`: a security group, not mail-enabled.
    fn group_body(&self, group: &NewGroup) -> Value {
        let mut body = json!({
            "displayName": group.display_name,
            "mailEnabled": false,
            "securityEnabled": true,
            "mailNickname": group.mail_nickname,
        });
        if let Some(owner) = &group.owner {
            body["owners@odata.bind"] =
                json!([self.url(&format!("directoryObjects/{}", seg(owner.as_str())))]);
        }
        body
    }

    /// Creates a security group (not mail-enabled).
    pub async fn create_group(&self, group: &NewGroup) -> Result<Group, GraphError> {
        let body = self.group_body(group);
        let created = self
            .call(Method::POST, &self.url("groups"), Some(&body))
            .await?;
        parse("POST", "groups", created)
    }

    /// Creates security groups [`MAX_BATCH`] to a `POST /$batch`, and returns them in the
    /// order given.
    ///
    /// Graph answers each request of a batch on its own: items throttled (`429`) go again in a
    /// later batch after the longest wait they asked for, under the same ceiling of attempts as
    /// any call; any other failed item stops here with its error. A `$batch` (or an item) whose
    /// outcome is unknown — a timeout, a reset, a `5xx` — is never sent again: its groups are
    /// looked up by name ([`GraphClient::find_created`]), and those not found end the call in
    /// [`GraphError::OutcomeUnknown`] (the next run finds them by name, or creates the missing
    /// ones). Groups created before an error stay created, and a rerun finds them by name.
    pub async fn create_groups(&self, groups: &[NewGroup]) -> Result<Vec<Group>, GraphError> {
        const PATH: &str = "/v1.0/$batch";
        let unexpected = |reason: String| GraphError::Unexpected {
            method: "POST".into(),
            path: PATH.into(),
            source: reason.into(),
        };
        let mut created: Vec<Option<Group>> = vec![None; groups.len()];
        for start in (0..groups.len()).step_by(MAX_BATCH) {
            let mut pending: Vec<usize> = (start..(start + MAX_BATCH).min(groups.len())).collect();
            let mut unknown: Vec<usize> = Vec::new();
            let mut why_unknown = String::new();
            let mut attempt = 0;
            while !pending.is_empty() {
                attempt += 1;
                let requests: Vec<Value> = pending
                    .iter()
                    .map(|&i| {
                        json!({
                            "id": i.to_string(),
                            "method": "POST",
                            "url": "/groups",
                            "headers": {"Content-Type": "application/json"},
                            "body": self.group_body(&groups[i]),
                        })
                    })
                    .collect();
                let reply = match self
                    .call(
                        Method::POST,
                        &self.url("$batch"),
                        Some(&json!({ "requests": requests })),
                    )
                    .await
                {
                    Ok(reply) => reply.unwrap_or(Value::Null),
                    Err(GraphError::OutcomeUnknown { source, .. }) => {
                        unknown.append(&mut pending);
                        why_unknown = source.to_string();
                        break;
                    }
                    Err(e) => return Err(e),
                };
                let Some(responses) = reply.get("responses").and_then(Value::as_array) else {
                    return Err(unexpected("no \"responses\" array".into()));
                };
                let mut again = Vec::new();
                let mut wait = Duration::ZERO;
                for response in responses {
                    let index = response["id"]
                        .as_str()
                        .and_then(|id| id.parse::<usize>().ok())
                        .filter(|i| pending.contains(i))
                        .ok_or_else(|| {
                            unexpected(format!("a response for no request: {}", response["id"]))
                        })?;
                    let status = response["status"].as_u64().unwrap_or(0) as u16;
                    if (200..300).contains(&status) {
                        created[index] = Some(parse("POST", PATH, Some(response["body"].clone()))?);
                        continue;
                    }
                    let header = |name: &str| {
                        response["headers"].as_object().and_then(|headers| {
                            headers
                                .iter()
                                .find(|(k, _)| k.eq_ignore_ascii_case(name))
                                .and_then(|(_, v)| v.as_str())
                        })
                    };
                    if (500..600).contains(&status) {
                        unknown.push(index);
                        why_unknown = format!(
                            "HTTP {status} for an item (request-id {})",
                            header("request-id").unwrap_or("none")
                        );
                        continue;
                    }
                    let outcome = Attempt::Status {
                        status,
                        retry_after: header("retry-after"),
                    };
                    match self.decide(attempt, outcome) {
                        Decision::RetryAfter(w) if not_carried_out(status) => {
                            again.push(index);
                            wait = wait.max(w);
                        }
                        _ => {
                            return Err(api_error(
                                &Method::POST,
                                format!("{PATH} (POST /groups {:?})", groups[index].display_name),
                                StatusCode::from_u16(status)
                                    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
                                &response["body"].to_string(),
                                header("request-id").unwrap_or("none").to_owned(),
                                attempt,
                            ));
                        }
                    }
                }
                if let Some(&missing) = pending.iter().find(|&&i| {
                    created[i].is_none() && !again.contains(&i) && !unknown.contains(&i)
                }) {
                    return Err(unexpected(format!("no response for request {missing}")));
                }
                if !again.is_empty() {
                    tracing::info!(
                        items = again.len(),
                        wait_ms = wait.as_millis() as u64,
                        "Graph asked to wait on part of a batch; retrying those"
                    );
                    self.sleeper.sleep(wait).await;
                }
                pending = again;
            }
            if !unknown.is_empty() {
                let asked: Vec<&NewGroup> = unknown.iter().map(|&i| &groups[i]).collect();
                tracing::warn!(groups = asked.len(), reason = %why_unknown, "no answer to creating groups; looking them up by name instead of sending again");
                let found = self.find_created(&asked).await?;
                let mut missing = Vec::new();
                for (&i, group) in unknown.iter().zip(found) {
                    match group {
                        Some(group) => created[i] = Some(group),
                        None => missing.push(groups[i].display_name.clone()),
                    }
                }
                if !missing.is_empty() {
                    return Err(GraphError::OutcomeUnknown {
                        method: "POST".into(),
                        path: PATH.into(),
                        source: Cause::new(format!(
                            "{why_unknown}; not found by name since: {}; the next run finds them or creates the missing ones",
                            missing.join(", ")
                        )),
                    });
                }
            }
        }
        Ok(created.into_iter().flatten().collect())
    }

    /// For groups whose creation may or may not have happened: each one as Graph has it — by
    /// display name, with the owner asked for — looked up again after each of
    /// [`FIND_CREATED_WAITS`] (Graph lists a new group only after replication), or none.
    pub async fn find_created(
        &self,
        asked: &[&NewGroup],
    ) -> Result<Vec<Option<Group>>, GraphError> {
        let mut found: Vec<Option<Group>> = vec![None; asked.len()];
        for wait in FIND_CREATED_WAITS {
            self.sleeper.sleep(wait).await;
            for (slot, group) in found.iter_mut().zip(asked) {
                if slot.is_some() {
                    continue;
                }
                *slot = self
                    .groups_named(&group.display_name)
                    .await?
                    .into_iter()
                    .find(|g| is_the_one_asked(g, group));
            }
            if found.iter().all(Option::is_some) {
                break;
            }
        }
        Ok(found)
    }

    /// Every app role assignment of the service principal.
    pub async fn assignments(&self, sp_id: &str) -> Result<Vec<Assignment>, GraphError> {
        self.get_all(&format!(
            "servicePrincipals/{}/appRoleAssignedTo",
            seg(sp_id)
        ))
        .await
    }

    /// Assigns `principal_id` (a group) to the app role `app_role_id` of the service principal.
    pub async fn assign(
        &self,
        sp_id: &str,
        principal_id: &ObjectId,
        app_role_id: AppRoleId,
    ) -> Result<Assignment, GraphError> {
        let path = format!("servicePrincipals/{}/appRoleAssignedTo", seg(sp_id));
        let body =
            json!({ "principalId": principal_id, "resourceId": sp_id, "appRoleId": app_role_id });
        let created = self
            .call(Method::POST, &self.url(&path), Some(&body))
            .await?;
        parse("POST", &path, created)
    }

    /// Removes one assignment.
    pub async fn unassign(
        &self,
        sp_id: &str,
        assignment_id: &AssignmentId,
    ) -> Result<(), GraphError> {
        let path = format!(
            "servicePrincipals/{}/appRoleAssignedTo/{}",
            seg(sp_id),
            seg(&assignment_id.0)
        );
        self.call(Method::DELETE, &self.url(&path), None).await?;
        Ok(())
    }

    /// The user with this object id or user principal name; `None` when there is none.
    pub async fn user(&self, id_or_upn: &str) -> Result<Option<User>, GraphError> {
        let path = format!("users/{}?$select={USER_SELECT}", seg(id_or_upn));
        match self.get(&path).await {
            Ok(raw) => parse("GET", &path, Some(raw)).map(Some),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Users whose user principal name starts with `prefix`.
    pub async fn users_starting_with(&self, prefix: &str) -> Result<Vec<User>, GraphError> {
        let filter = format!("startswith(userPrincipalName,{})", odata_string(prefix));
        self.get_all(&format!(
            "users?$filter={}&$select={USER_SELECT}",
            utf8_percent_encode(&filter, ENCODE)
        ))
        .await
    }

    /// The group with this object id; `None` when there is none.
    pub async fn group(&self, id: &ObjectId) -> Result<Option<Group>, GraphError> {
        let path = format!("groups/{}?{GROUP_SELECT}", seg(id.as_str()));
        match self.get(&path).await {
            Ok(raw) => parse("GET", &path, Some(raw)).map(Some),
            Err(e) if is_not_found(&e) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The direct members of a group.
    pub async fn members(&self, group_id: &ObjectId) -> Result<Vec<Member>, GraphError> {
        self.get_all(&format!(
            "groups/{}/members?$select={MEMBER_SELECT}",
            seg(group_id.as_str())
        ))
        .await
    }

    /// Every member of a group and of the groups inside it, each once.
    pub async fn transitive_members(&self, group_id: &ObjectId) -> Result<Vec<Member>, GraphError> {
        self.get_all(&format!(
            "groups/{}/transitiveMembers?$select={MEMBER_SELECT}",
            seg(group_id.as_str())
        ))
        .await
    }

    /// Adds a user or group to a group; [`MembershipChange::Unchanged`] when it already is one.
    pub async fn add_member(
        &self,
        group_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<MembershipChange, GraphError> {
        let body = json!({
            "@odata.id": self.url(&format!("directoryObjects/{}", seg(member_id.as_str())))
        });
        let url = self.url(&format!("groups/{}/members/$ref", seg(group_id.as_str())));
        // Graph refuses a member twice, so a replay cannot add anyone twice.
        match self
            .call_as(Method::POST, &url, Some(&body), Replay::Safe)
            .await
        {
            Ok(_) => Ok(MembershipChange::Changed),
            Err(GraphError::Api(api))
                if api.status == 400 && api.message.contains("already exist") =>
            {
                Ok(MembershipChange::Unchanged)
            }
            Err(e) => Err(e),
        }
    }

    /// Removes a member from a group; [`MembershipChange::Unchanged`] when it is not one.
    pub async fn remove_member(
        &self,
        group_id: &ObjectId,
        member_id: &ObjectId,
    ) -> Result<MembershipChange, GraphError> {
        let url = self.url(&format!(
            "groups/{}/members/{}/$ref",
            seg(group_id.as_str()),
            seg(member_id.as_str())
        ));
        match self.call(Method::DELETE, &url, None).await {
            Ok(_) => Ok(MembershipChange::Changed),
            Err(e) if is_not_found(&e) => Ok(MembershipChange::Unchanged),
            Err(e) => Err(e),
        }
    }

    async fn get(&self, path: &str) -> Result<Value, GraphError> {
        self.call(Method::GET, &self.url(path), None)
            .await?
            .ok_or_else(|| GraphError::Unexpected {
                method: "GET".into(),
                path: path.to_owned(),
                source: Cause::new("an empty body"),
            })
    }

    /// Every item of a collection, following `@odata.nextLink` to the end.
    async fn get_all<T: serde::de::DeserializeOwned>(
        &self,
        path: &str,
    ) -> Result<Vec<T>, GraphError> {
        let unexpected = |reason: String| GraphError::Unexpected {
            method: "GET".into(),
            path: path.to_owned(),
            source: reason.into(),
        };
        let mut items = Vec::new();
        let mut next = Some(self.url(path));
        for _ in 0..MAX_PAGES {
            let Some(url) = next.take() else {
                return Ok(items);
            };
            let page = self
                .call(Method::GET, &url, None)
                .await?
                .unwrap_or(Value::Null);
            let Some(values) = page.get("value").and_then(Value::as_array) else {
                return Err(unexpected("no \"value\" array".into()));
            };
            for value in values {
                items.push(
                    serde_json::from_value(value.clone()).map_err(|e| unexpected(e.to_string()))?,
                );
            }
            if let Some(link) = page.get("@odata.nextLink").and_then(Value::as_str) {
                if !link.starts_with(&format!("{}/", self.graph_url)) {
                    return Err(unexpected(format!(
                        "@odata.nextLink {link:?} leaves {}",
                        self.graph_url
                    )));
                }
                next = Some(link.to_owned());
            }
        }
        match next {
            None => Ok(items),
            Some(_) => Err(GraphError::TooManyPages {
                path: path.to_owned(),
                max: MAX_PAGES,
            }),
        }
    }

    /// One Graph request with token, renewal on `401`, and retries; the body of a success. A
    /// `POST` is sent again only when Graph did not carry it out.
    async fn call(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
    ) -> Result<Option<Value>, GraphError> {
        let replay = Replay::of(&method);
        self.call_as(method, url, body, replay).await
    }

    async fn call_as(
        &self,
        method: Method,
        url: &str,
        body: Option<&Value>,
        replay: Replay,
    ) -> Result<Option<Value>, GraphError> {
        let path = url.strip_prefix(&self.graph_url).unwrap_or(url).to_owned();
        let mut renewed = false;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let token = match self.tokens.token(false).await {
                Ok(token) => token,
                Err(e) if e.is_transient() => match self.decide(attempt, Attempt::Transport) {
                    Decision::RetryAfter(wait) => {
                        self.sleeper.sleep(wait).await;
                        continue;
                    }
                    Decision::Stop => return Err(e.into()),
                },
                Err(e) => return Err(e.into()),
            };
            let mut request = self
                .http
                .request(method.clone(), url)
                .bearer_auth(token.expose_secret());
            if let Some(body) = body {
                request = request.json(body);
            }
            let response = match request.send().await {
                Ok(response) => response,
                // No connection, so nothing sent; anything else may have reached Graph.
                Err(e) if replay == Replay::Never && !e.is_connect() => {
                    return Err(GraphError::OutcomeUnknown {
                        method: method.to_string(),
                        path,
                        source: Cause::from(crate::error_text::chain(&e.without_url())),
                    });
                }
                Err(e) => match self.decide(attempt, Attempt::Transport) {
                    Decision::RetryAfter(wait) => {
                        self.sleeper.sleep(wait).await;
                        continue;
                    }
                    Decision::Stop => {
                        return Err(GraphError::Transport {
                            method: method.to_string(),
                            path,
                            attempts: attempt,
                            source: Cause::from(crate::error_text::chain(&e.without_url())),
                        });
                    }
                },
            };
            let status = response.status();
            if status == StatusCode::UNAUTHORIZED && !renewed {
                // The token may have been revoked or expired early: renew once, not counted.
                renewed = true;
                attempt -= 1;
                self.tokens.token(true).await?;
                continue;
            }
            let header = |name: &str| {
                response
                    .headers()
                    .get(name)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned)
            };
            let retry_after = header("retry-after");
            let request_id = header("request-id").unwrap_or_else(|| "none".into());
            let text = match response.text().await {
                Ok(text) => text,
                Err(e) if replay == Replay::Never => {
                    return Err(GraphError::OutcomeUnknown {
                        method: method.to_string(),
                        path,
                        source: Cause::new(format!(
                            "HTTP {} and then {}",
                            status.as_u16(),
                            crate::error_text::chain(&e.without_url())
                        )),
                    });
                }
                Err(_) => String::new(),
            };
            if replay == Replay::Never && status.is_server_error() {
                return Err(GraphError::OutcomeUnknown {
                    method: method.to_string(),
                    path,
                    source: Cause::from(format!(
                        "HTTP {} (request-id {request_id})",
                        status.as_u16()
                    )),
                });
            }
            if status.is_success() {
                if text.trim().is_empty() {
                    return Ok(None);
                }
                return serde_json::from_str(&text)
                    .map(Some)
                    .map_err(|e| GraphError::Unexpected {
                        method: method.to_string(),
                        path,
                        source: Cause::from(format!("not JSON: {e}")),
                    });
            }
            let outcome = Attempt::Status {
                status: status.as_u16(),
                retry_after: retry_after.as_deref(),
            };
            match self.decide(attempt, outcome) {
                Decision::RetryAfter(wait) => {
                    tracing::info!(%method, %path, status = status.as_u16(), wait_ms = wait.as_millis() as u64, "Graph asked to wait; retrying");
                    self.sleeper.sleep(wait).await;
                }
                Decision::Stop => {
                    return Err(api_error(&method, path, status, &text, request_id, attempt));
                }
            }
        }
    }

    fn decide(&self, attempt: u32, outcome: Attempt<'_>) -> Decision {
        retry::decide(&self.policy, attempt, outcome, fastrand::f64())
    }
}

/// Graph answered `404`: the object (or the membership) does not exist.
fn is_not_found(e: &GraphError) -> bool {
    matches!(e, GraphError::Api(api) if api.status == 404)
}

/// A path segment with everything but unreserved characters percent-encoded.
fn seg(value: &str) -> String {
    utf8_percent_encode(value, ENCODE).to_string()
}

fn parse<T: serde::de::DeserializeOwned>(
    method: &str,
    path: &str,
    body: Option<Value>,
) -> Result<T, GraphError> {
    let unexpected = |reason: String| GraphError::Unexpected {
        method: method.into(),
        path: path.into(),
        source: reason.into(),
    };
    serde_json::from_value(body.ok_or_else(|| unexpected("an empty body".into()))?)
        .map_err(|e| unexpected(e.to_string()))
}

/// Graph's error body, `{"error": {"code", "message"}}`, as a [`GraphError::Api`].
fn api_error(
    method: &Method,
    path: String,
    status: StatusCode,
    body: &str,
    request_id: String,
    attempts: u32,
) -> GraphError {
    let parsed: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let field = |name: &str| parsed["error"][name].as_str().map(str::to_owned);
    GraphError::Api(Box::new(ApiError {
        method: method.to_string(),
        path,
        status: status.as_u16(),
        code: field("code")
            .unwrap_or_else(|| status.canonical_reason().unwrap_or("error").to_owned()),
        message: field("message").unwrap_or_else(|| body.chars().take(200).collect()),
        request_id,
        attempts,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn odata_strings_double_their_quotes() {
        assert_eq!(odata_string("plain"), "'plain'");
        assert_eq!(odata_string("O'Brien's"), "'O''Brien''s'");
        assert_eq!(odata_string("''"), "''''''");
    }

    #[test]
    fn filters_are_percent_encoded() {
        let filter = format!("displayName eq {}", odata_string("R&D + O'Brien/ü"));
        assert_eq!(
            utf8_percent_encode(&filter, ENCODE).to_string(),
            "displayName%20eq%20%27R%26D%20%2B%20O%27%27Brien%2F%C3%BC%27"
        );
    }

    #[test]
    fn api_errors_carry_code_message_and_request_id() {
        let body = r#"{"error":{"code":"CannotDeleteOrUpdateEnabledEntitlement","message":"Cannot delete an enabled role"}}"#;
        let err = api_error(
            &Method::PATCH,
            "/v1.0/servicePrincipals/x".into(),
            StatusCode::BAD_REQUEST,
            body,
            "rid-1".into(),
            1,
        );
        assert_eq!(err.code(), Some("CannotDeleteOrUpdateEnabledEntitlement"));
        assert_eq!(
            err.to_string(),
            "Graph answered PATCH /v1.0/servicePrincipals/x with HTTP 400 CannotDeleteOrUpdateEnabledEntitlement: Cannot delete an enabled role (request-id rid-1)"
        );
        let throttled = api_error(
            &Method::GET,
            "/v1.0/groups".into(),
            StatusCode::TOO_MANY_REQUESTS,
            "",
            "rid-2".into(),
            8,
        );
        assert!(
            throttled
                .to_string()
                .ends_with("(request-id rid-2, after 8 attempts)"),
            "{throttled}"
        );
    }
}
