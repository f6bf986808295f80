//! grants: the IAM grants in cfn/ reach exactly what the code addresses — resources and
//! conditions, not only action names (`policy.rs` checks those) — in both directions.
//!
//! The code side, per action: the concrete ARNs the sync task asks for, computed with fedsync's
//! own functions (the backup, lease and state keys; the reader role's ARN) from the values the
//! task definition gives it (the reader role name, the backup bucket and prefix, the one secret,
//! the SSM prefix, the KMS key), and the conditions that must narrow them. The template side: the
//! task role's and the reader role's `Allow` statements with CloudFormation's values filled in
//! (parameter defaults, a sample account, region and resource ARNs). Every ARN the code asks for
//! must be matched by a granted resource of its action, every granted resource must match an ARN
//! the code asks for, and each grant carries exactly the conditions the code's requests need.
//!
//! The task's credential is a stack parameter (`Credential`): the secret and its grant with
//! `secret` or `certificate`, a web identity token from STS and no secret with `aws-federation`;
//! the task role is checked for each value.
//!
//! The StackSet execution role is checked against what the templates it deploys create: the
//! reader role, the sample roles, the SAML provider, and nothing else.

use std::collections::{BTreeMap, BTreeSet};

use fedsync::model::{AccountId, Partition, RoleName};

use crate::support::cfn::{
    Statement, allowed_values, evaluate, get, iam_match, is_created, load_template,
    parameter_defaults, parameters, role_statements, role_statements_in, strings, substitute,
    task_definition_environment_in, untagged,
};

const ACCOUNT: &str = "123456789012";
const MEMBER: &str = "210987654321";
const REGION: &str = "eu-west-1";
const SP: &str = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11";

/// What the sample stack's pseudo parameters and resources stand for, and its parameter defaults.
fn environment_values() -> BTreeMap<String, String> {
    environment_values_in(&parameters("environment.yaml", &[]))
}

/// [`environment_values`] of a stack with `parameters` (by plain name, as
/// [`parameters`](crate::support::cfn::parameters) gives them).
fn environment_values_in(parameters: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    let mut values: BTreeMap<String, String> = parameters
        .iter()
        .map(|(name, value)| (format!("${{{name}}}"), value.clone()))
        .collect();
    for (name, value) in [
        ("${AWS::Partition}", "aws".to_owned()),
        ("${AWS::AccountId}", ACCOUNT.to_owned()),
        ("${AWS::Region}", REGION.to_owned()),
        ("${BackupBucket}", "fedsync-backups-x1".to_owned()),
        (
            "${BackupBucket.Arn}",
            "arn:aws:s3:::fedsync-backups-x1".to_owned(),
        ),
        (
            "${CredentialsSecret}",
            format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:fedsync-credentials-AbCdEf"),
        ),
        (
            "${Key.Arn}",
            format!("arn:aws:kms:{REGION}:{ACCOUNT}:key/0b1c2d3e-0000-4000-8000-000000000001"),
        ),
        // A policy variable: IAM fills it in, so it stays as it is written.
        (
            "${aws:PrincipalOrgID}",
            "<the caller's organization>".to_owned(),
        ),
    ] {
        values.insert(name.to_owned(), value);
    }
    values
}

/// The task definition's `FEDSYNC_*` variables with the sample stack's values: what the task's
/// code is given.
fn task_environment(values: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    task_environment_in(&parameters("environment.yaml", &[]), values)
}

/// [`task_environment`] of a stack with `parameters`; `values` are its
/// [`environment_values_in`].
fn task_environment_in(
    parameters: &BTreeMap<String, String>,
    values: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let environment = task_definition_environment_in(parameters);
    environment
        .iter()
        .map(|variable| {
            let name = get(variable, "Name").and_then(|n| n.as_str()).unwrap();
            let value = strings(get(variable, "Value").expect("a Value")).remove(0);
            (name.to_owned(), substitute(&value, values))
        })
        .collect()
}

/// What the code addresses with one action: the families of ARNs it asks for (IAM patterns),
/// examples it really asks for (computed with fedsync's functions; each family must cover its
/// examples), and the conditions the grant must carry.
struct Needs {
    families: Vec<String>,
    examples: Vec<String>,
    /// `operator key` → values, exactly.
    conditions: BTreeMap<String, Vec<String>>,
}

fn needs(families: &[String], examples: &[String]) -> Needs {
    Needs {
        families: families.to_vec(),
        examples: examples.to_vec(),
        conditions: BTreeMap::new(),
    }
}

/// One ARN the code asks for, granted as it is.
fn exactly(arn: &str) -> Needs {
    needs(&[arn.to_owned()], &[arn.to_owned()])
}

fn with(mut needs: Needs, condition: &str, values: Vec<String>) -> Needs {
    needs.conditions.insert(condition.to_owned(), values);
    needs
}

/// What the sync task's code addresses, per IAM action.
fn task_needs(env: &BTreeMap<String, String>) -> BTreeMap<&'static str, Needs> {
    let bucket = &env["FEDSYNC_BACKUP_BUCKET"];
    let prefix = &env["FEDSYNC_BACKUP_PREFIX"];
    let object = |key: &str| format!("arn:aws:s3:::{bucket}/{key}");
    let at = time::macros::datetime!(2026-12-02 03:04:29.148 UTC);
    let backup = object(&fedsync::backup::backup_key(prefix, at, SP));
    let lease = object(&fedsync::lease::lease_key(SP));
    let state = object(&fedsync::store::state_key(SP));
    let backups = object(&format!("{prefix}*"));
    let leases = object(&format!("{}*", fedsync::lease::LEASE_PREFIX));
    let states = object(&format!("{}*", fedsync::store::STATE_PREFIX));
    let reader: RoleName = env["FEDSYNC_CROSS_ACCOUNT_ROLE"].parse().unwrap();
    let member: AccountId = MEMBER.parse().unwrap();
    let ssm = format!(
        "arn:aws:ssm:{REGION}:{ACCOUNT}:parameter{}",
        env["FEDSYNC_SSM_PREFIX"].trim_end_matches('/')
    );
    let mut out = BTreeMap::new();
    // No resource-level permissions: "*" is the only resource these take.
    for action in [
        "organizations:ListAccounts",
        "iam:ListRoles",
        "iam:ListSAMLProviders",
    ] {
        out.insert(action, exactly("*"));
    }
    // The reader role in any account, only of the task's own Organization.
    out.insert(
        "sts:AssumeRole",
        with(
            needs(
                &[format!("arn:aws:iam::*:role/{reader}")],
                &[reader.arn_in(Partition::Aws, &member).to_string()],
            ),
            "StringEquals aws:ResourceOrgID",
            vec!["<the caller's organization>".into()],
        ),
    );
    // Whichever providers ListSAMLProviders lists in the task's own account.
    out.insert(
        "iam:GetSAMLProvider",
        needs(
            &[format!("arn:aws:iam::{ACCOUNT}:saml-provider/*")],
            &[format!("arn:aws:iam::{ACCOUNT}:saml-provider/EntraID")],
        ),
    );
    out.insert("ssm:GetParametersByPath", exactly(&ssm));
    // The Entra credential: the one secret, or (aws-federation) a JWT for the task's own role,
    // for the audience the task is given, signed and lasting as src/aws/federation.rs asks.
    let federation = env.get("FEDSYNC_CREDENTIAL").map(String::as_str) == Some("aws-federation");
    let secret = env
        .get("FEDSYNC_CREDENTIALS_SECRET")
        .filter(|_| !federation);
    if let Some(secret) = secret {
        out.insert("secretsmanager:GetSecretValue", exactly(secret));
    }
    if federation {
        let audience = env
            .get("FEDSYNC_FEDERATION_AUDIENCE")
            .expect("with aws-federation the task is given FEDSYNC_FEDERATION_AUDIENCE");
        let token = with(
            exactly("*"),
            "ForAllValues:StringEquals sts:IdentityTokenAudience",
            vec![audience.clone()],
        );
        let token = with(
            token,
            "StringEquals sts:SigningAlgorithm",
            vec![fedsync::aws::federation::SIGNING_ALGORITHM.to_owned()],
        );
        let token = with(
            token,
            "NumericLessThanEquals sts:DurationSeconds",
            vec![fedsync::aws::federation::TOKEN_LIFETIME_SECS.to_string()],
        );
        out.insert("sts:GetWebIdentityToken", token);
    }
    // Backups are listed under the prefix, nothing else.
    let bucket_arn = format!("arn:aws:s3:::{bucket}");
    out.insert(
        "s3:ListBucket",
        with(
            exactly(&bucket_arn),
            "StringLike s3:prefix",
            vec![format!("{prefix}*")],
        ),
    );
    for action in ["s3:GetObject", "s3:PutObject"] {
        out.insert(
            action,
            needs(
                &[backups.clone(), leases.clone(), states.clone()],
                &[backup.clone(), lease.clone(), state.clone()],
            ),
        );
    }
    out.insert("s3:DeleteObject", needs(&[leases], &[lease]));
    // The key behind the SecureString settings, the secret (when there is one) and the S3
    // objects, only through the services the code calls with it.
    let key = env["FEDSYNC_BACKUP_KMS_KEY"].clone();
    let services: &[&str] = match secret {
        Some(_) => &["ssm", "secretsmanager", "s3"],
        None => &["ssm", "s3"],
    };
    for action in ["kms:Decrypt", "kms:GenerateDataKey"] {
        out.insert(
            action,
            with(
                exactly(&key),
                "StringEquals kms:ViaService",
                services
                    .iter()
                    .map(|s| format!("{s}.{REGION}.amazonaws.com"))
                    .collect(),
            ),
        );
    }
    out
}

/// Every mismatch between `statements` (values filled in) and what `needed` asks for: per
/// action, the granted resources must be exactly the code's families, and each statement must
/// carry exactly the conditions the action needs.
fn mismatches(
    statements: &[Statement],
    values: &BTreeMap<String, String>,
    needed: &BTreeMap<&'static str, Needs>,
    role: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (action, need) in needed {
        for example in &need.examples {
            assert!(
                need.families.iter().any(|f| iam_match(f, example)),
                "grants.rs: {action}: no family covers {example}, which the code asks for"
            );
        }
    }
    let mut granted: BTreeMap<&str, BTreeSet<String>> = BTreeMap::new();
    for statement in statements.iter().filter(|s| s.allow) {
        let conditions: BTreeMap<String, Vec<String>> = statement
            .conditions
            .iter()
            .map(|(k, v)| (k.clone(), v.iter().map(|x| substitute(x, values)).collect()))
            .collect();
        for action in &statement.actions {
            let Some((action, need)) = needed.get_key_value(action.as_str()) else {
                continue; // policy.rs reports actions the code does not call
            };
            granted
                .entry(action)
                .or_default()
                .extend(statement.resources.iter().map(|r| substitute(r, values)));
            if conditions != need.conditions {
                problems.push(format!(
                    "{role} {:?} grants {action} with conditions {conditions:?}; the code's \
                     requests need exactly {:?}",
                    statement.sid, need.conditions
                ));
            }
        }
    }
    for (action, need) in needed {
        let families: BTreeSet<String> = need.families.iter().cloned().collect();
        let got = granted.remove(action).unwrap_or_default();
        for wide in got.difference(&families) {
            problems.push(format!(
                "{role} grants {action} on {wide}, which is not what the code addresses \
                 ({families:?}): narrow it"
            ));
        }
        for missing in families.difference(&got) {
            problems.push(format!(
                "{role} grants no {action} on {missing}, which the code addresses: grant it"
            ));
        }
    }
    problems
}

#[test]
fn the_task_role_reaches_exactly_what_the_task_addresses() {
    let mut problems = Vec::new();
    for credential in allowed_values("environment.yaml", "Credential") {
        let parameters = parameters("environment.yaml", &[("Credential", &credential)]);
        let values = environment_values_in(&parameters);
        let env = task_environment_in(&parameters, &values);
        problems.extend(mismatches(
            &role_statements_in("environment.yaml", "TaskRole", &parameters),
            &values,
            &task_needs(&env),
            &format!("the task role (cfn/environment.yaml, TaskRole, Credential={credential})"),
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// What a stack of cfn/environment.yaml with `overrides` has of the Entra credential.
struct CredentialSide {
    /// The task role's statements, values filled in.
    statements: Vec<Statement>,
    /// The task's `FEDSYNC_*` variables.
    env: BTreeMap<String, String>,
    secret_created: bool,
    /// The outputs the stack has.
    outputs: BTreeSet<String>,
    /// The created resources and the outputs, as text, for references to the secret.
    text: String,
}

fn credential_side(overrides: &[(&str, &str)]) -> CredentialSide {
    let template = "environment.yaml";
    let parameters = parameters(template, overrides);
    let values = environment_values_in(&parameters);
    let doc = load_template(template);
    let statements = role_statements_in(template, "TaskRole", &parameters)
        .into_iter()
        .map(|s| Statement {
            resources: s.resources.iter().map(|r| substitute(r, &values)).collect(),
            conditions: (s.conditions.iter())
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.iter().map(|x| substitute(x, &values)).collect(),
                    )
                })
                .collect(),
            ..s
        })
        .collect();
    let mut text = String::new();
    let mut secret_created = false;
    let mut outputs = BTreeSet::new();
    for (section, names) in [("Resources", false), ("Outputs", true)] {
        for (name, node) in untagged(get(&doc, section).unwrap()).as_mapping().unwrap() {
            if !is_created(&doc, node, &parameters) {
                continue;
            }
            let name = name.as_str().unwrap();
            secret_created |= !names && name == "CredentialsSecret";
            if names {
                outputs.insert(name.to_owned());
            }
            let resolved = crate::support::cfn::resolve_ifs(&doc, node, &parameters);
            text.push_str(&format!("{name}: {resolved:?}\n"));
        }
    }
    CredentialSide {
        statements,
        env: task_environment_in(&parameters, &values),
        secret_created,
        outputs,
        text,
    }
}

impl CredentialSide {
    fn granting(&self, action: &str) -> Vec<&Statement> {
        (self.statements.iter())
            .filter(|s| s.allow && s.actions.iter().any(|a| a == action))
            .collect()
    }

    fn kms_services(&self) -> Vec<String> {
        let grants = self.granting("kms:Decrypt");
        assert_eq!(grants.len(), 1, "one statement grants kms:Decrypt");
        grants[0].conditions["StringEquals kms:ViaService"].clone()
    }
}

/// A stack deployed before `Credential` existed keeps its secret on update: the default reads
/// the credential from the secret (so does `certificate`), and only `aws-federation` replaces it
/// with a web identity token for the task role, with no secret, no grant of it, and the
/// FederatedCredential* outputs an admin types into Entra.
#[test]
fn credential_aws_federation_replaces_the_secret_with_a_web_identity_token() {
    let secretsmanager = format!("secretsmanager.{REGION}.amazonaws.com");
    let secret_arn =
        format!("arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:fedsync-credentials-AbCdEf");
    for overrides in [&[][..], &[("Credential", "certificate")][..]] {
        let side = credential_side(overrides);
        let label = format!("{overrides:?}");
        assert!(side.secret_created, "{label}: the secret is created");
        let reads = side.granting("secretsmanager:GetSecretValue");
        assert_eq!(reads.len(), 1, "{label}: one statement reads the secret");
        assert_eq!(
            reads[0].resources,
            std::slice::from_ref(&secret_arn),
            "{label}"
        );
        assert_eq!(
            side.env.get("FEDSYNC_CREDENTIALS_SECRET"),
            Some(&secret_arn),
            "{label}"
        );
        assert!(
            side.granting("sts:GetWebIdentityToken").is_empty(),
            "{label}"
        );
        assert!(
            !side.env.contains_key("FEDSYNC_FEDERATION_AUDIENCE"),
            "{label}"
        );
        assert!(side.kms_services().contains(&secretsmanager), "{label}");
        assert!(side.outputs.contains("CredentialsSecretArn"), "{label}");
        assert!(
            !side
                .outputs
                .iter()
                .any(|o| o.starts_with("FederatedCredential")),
            "{label}: {:?}",
            side.outputs
        );
    }
    assert_eq!(
        credential_side(&[]).env.get("FEDSYNC_CREDENTIAL"),
        None,
        "with a secret the task takes the kind the secret holds (a certificate in an older stack's)"
    );

    // aws-federation, with the default audience and with another cloud's.
    for audience in [None, Some("api://AzureADTokenExchangeUSGov")] {
        let mut overrides = vec![("Credential", "aws-federation")];
        overrides.extend(audience.map(|a| ("FederationAudience", a)));
        let side = credential_side(&overrides);
        let audience = audience.unwrap_or("api://AzureADTokenExchange");
        assert!(!side.secret_created, "no secret with aws-federation");
        assert!(
            !side.text.contains("CredentialsSecret"),
            "with aws-federation something still names the secret:\n{}",
            side.text
        );
        for statement in &side.statements {
            for action in &statement.actions {
                assert!(
                    !action.starts_with("secretsmanager:"),
                    "{}: {action} with aws-federation",
                    statement.sid
                );
            }
        }
        assert!(!side.kms_services().contains(&secretsmanager));
        assert!(!side.env.contains_key("FEDSYNC_CREDENTIALS_SECRET"));
        assert_eq!(side_credential(&side), "aws-federation");
        assert_eq!(
            side.env
                .get("FEDSYNC_FEDERATION_AUDIENCE")
                .map(String::as_str),
            Some(audience)
        );
        let tokens = side.granting("sts:GetWebIdentityToken");
        assert_eq!(tokens.len(), 1, "one statement grants the token");
        assert_eq!(tokens[0].actions, ["sts:GetWebIdentityToken"]);
        assert_eq!(tokens[0].resources, ["*"]);
        let expected: BTreeMap<String, Vec<String>> = [
            (
                "ForAllValues:StringEquals sts:IdentityTokenAudience",
                audience,
            ),
            ("StringEquals sts:SigningAlgorithm", "RS256"),
            ("NumericLessThanEquals sts:DurationSeconds", "300"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_owned(), vec![v.to_owned()]))
        .collect();
        assert_eq!(tokens[0].conditions, expected);

        // What the admin enters in the sync app's federated credential: the JWT's sub is the
        // task role's ARN, and the audience the task asks for.
        for output in ["FederatedCredentialSubject", "FederatedCredentialAudience"] {
            assert!(
                side.outputs.contains(output),
                "{output}: {:?}",
                side.outputs
            );
        }
        assert!(!side.outputs.contains("CredentialsSecretArn"));
        let doc = load_template("environment.yaml");
        let outputs = get(&doc, "Outputs").unwrap();
        let value = |name: &str| get(get(outputs, name).unwrap(), "Value").unwrap().clone();
        assert_eq!(
            strings(&value("FederatedCredentialSubject")),
            ["${TaskRole.Arn}"]
        );
        let role_name = get(&doc, "Resources")
            .and_then(|r| get(r, "TaskRole"))
            .and_then(|r| get(r, "Properties"))
            .and_then(|p| get(p, "RoleName"))
            .unwrap();
        assert!(
            get(
                get(get(&doc, "Resources").unwrap(), "TaskRole").unwrap(),
                "Properties"
            )
            .and_then(|p| get(p, "Path"))
            .is_none(),
            "the task role has no path, so its ARN is arn:…:role/<name>"
        );
        let mut plain = parameters("environment.yaml", &overrides);
        plain.insert("AWS::Partition".into(), "aws".into());
        plain.insert("AWS::AccountId".into(), ACCOUNT.into());
        assert_eq!(
            evaluate(role_name, &plain).into_string(),
            "fedsync-task",
            "the JWT's sub is arn:aws:iam::{ACCOUNT}:role/fedsync-task"
        );
        assert_eq!(
            evaluate(&value("FederatedCredentialAudience"), &plain).into_string(),
            audience
        );
    }
}

/// The `FEDSYNC_CREDENTIAL` the task is given.
fn side_credential(side: &CredentialSide) -> &str {
    side.env
        .get("FEDSYNC_CREDENTIAL")
        .map(String::as_str)
        .expect("the task is given FEDSYNC_CREDENTIAL")
}

#[test]
fn the_reader_role_reaches_exactly_the_reads_in_its_account() {
    let mut values = parameter_defaults("cross-account-roles.yaml");
    values.insert("${AWS::Partition}".into(), "aws".into());
    values.insert("${AWS::AccountId}".into(), MEMBER.into());
    let mut needed = BTreeMap::new();
    for action in ["iam:ListRoles", "iam:ListSAMLProviders"] {
        needed.insert(action, exactly("*"));
    }
    needed.insert(
        "iam:GetSAMLProvider",
        needs(
            &[format!("arn:aws:iam::{MEMBER}:saml-provider/*")],
            &[format!("arn:aws:iam::{MEMBER}:saml-provider/EntraID")],
        ),
    );
    let problems = mismatches(
        &role_statements("cross-account-roles.yaml", "ReaderRole"),
        &values,
        &needed,
        "the reader role (cfn/cross-account-roles.yaml, ReaderRole)",
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

#[test]
fn a_grant_wider_than_the_code_or_short_of_it_is_caught() {
    // The checker itself: a bucket-wide delete, a listing without its condition, and reads the
    // code needs but no one grants are each named.
    let values = environment_values();
    let env = task_environment(&values);
    let statements = vec![Statement {
        sid: "TooWide".into(),
        allow: true,
        actions: vec!["s3:DeleteObject".into(), "s3:ListBucket".into()],
        resources: vec!["${BackupBucket.Arn}/*".into()],
        conditions: BTreeMap::new(),
    }];
    let problems = mismatches(&statements, &values, &task_needs(&env), "a test role").join("\n");
    for expected in [
        "grants s3:DeleteObject on arn:aws:s3:::fedsync-backups-x1/*, which is not",
        "grants no s3:DeleteObject on arn:aws:s3:::fedsync-backups-x1/fedsync/leases/*",
        "grants s3:ListBucket with conditions {}",
        "grants no s3:ListBucket on arn:aws:s3:::fedsync-backups-x1,",
        "grants no s3:GetObject on arn:aws:s3:::fedsync-backups-x1/fedsync/state/*",
    ] {
        assert!(problems.contains(expected), "{expected}\n in:\n{problems}");
    }
}

/// The roles and providers the StackSet templates create, with the role names they are given.
fn stackset_creations() -> (Vec<String>, Vec<String>) {
    let reader = parameter_defaults("cross-account-roles.yaml")["${ReaderRoleName}"].clone();
    let saml = parameter_defaults("saml-roles.yaml");
    let prefix = &saml["${RoleNamePrefix}"];
    let doc = load_template("saml-roles.yaml");
    let mut roles = vec![format!("arn:aws:iam::{MEMBER}:role/{reader}")];
    let mut providers = Vec::new();
    for (_, resource) in untagged(get(&doc, "Resources").unwrap())
        .as_mapping()
        .unwrap()
    {
        let kind = get(resource, "Type").and_then(|t| t.as_str()).unwrap();
        let properties = get(resource, "Properties").unwrap();
        match kind {
            "AWS::IAM::Role" => {
                let name = strings(get(properties, "RoleName").unwrap()).remove(0);
                let name = name.replace("${RoleNamePrefix}", prefix);
                roles.push(format!("arn:aws:iam::{MEMBER}:role/{name}"));
            }
            "AWS::IAM::SAMLProvider" => {
                let name = strings(get(properties, "Name").unwrap()).remove(0);
                let name = name.replace("${SamlProviderName}", &saml["${SamlProviderName}"]);
                providers.push(format!("arn:aws:iam::{MEMBER}:saml-provider/{name}"));
            }
            _ => {}
        }
    }
    (roles, providers)
}

#[test]
fn the_stackset_execution_role_reaches_only_what_the_templates_create() {
    let mut values = parameter_defaults("cross-account-roles.yaml");
    values.insert("${AWS::Partition}".into(), "aws".into());
    values.insert("${AWS::AccountId}".into(), MEMBER.into());
    let (roles, providers) = stackset_creations();
    let boundary = format!("arn:aws:iam::{MEMBER}:policy/fedsync-reader-boundary");
    let reader = &roles[0];
    let mut problems = Vec::new();
    let mut reached: BTreeSet<&str> = BTreeSet::new();
    for statement in role_statements("cross-account-roles.yaml", "StackSetExecutionRole") {
        assert!(statement.allow, "{}: only Allow statements", statement.sid);
        let resources: Vec<String> = statement
            .resources
            .iter()
            .map(|r| substitute(r, &values))
            .collect();
        for action in &statement.actions {
            assert!(!action.contains('*'), "{}: grants {action}", statement.sid);
            if action.starts_with("cloudformation:") {
                assert_eq!(
                    resources,
                    [format!(
                        "arn:aws:cloudformation:*:{MEMBER}:stack/StackSet-*"
                    )],
                    "{}",
                    statement.sid
                );
                continue;
            }
            assert!(
                action.starts_with("iam:"),
                "{}: grants {action}",
                statement.sid
            );
            assert!(
                ![
                    "iam:PassRole",
                    "iam:DeleteRolePermissionsBoundary",
                    "iam:CreatePolicy",
                    "iam:CreatePolicyVersion"
                ]
                .contains(&action.as_str()),
                "{}: grants {action}, a way around the limits",
                statement.sid
            );
            let targets = if action.contains("SAMLProvider") {
                &providers
            } else {
                &roles
            };
            for granted in &resources {
                let hit: Vec<&String> = targets.iter().filter(|t| iam_match(granted, t)).collect();
                if hit.is_empty() || granted.ends_with("/*") || granted == "*" {
                    problems.push(format!(
                        "{}: {action} on {granted}, which is not (only) what the templates create: {targets:?}",
                        statement.sid
                    ));
                }
                reached.extend(hit.iter().map(|t| t.as_str()));
            }
            // An inline policy or a boundary goes only on the reader role, only with its
            // boundary; and the boundary cannot be taken off.
            let writes_policy = matches!(
                action.as_str(),
                "iam:PutRolePolicy" | "iam:PutRolePermissionsBoundary" | "iam:DeleteRolePolicy"
            );
            let sets_boundary = statement
                .conditions
                .get("ArnEquals iam:PermissionsBoundary")
                .map(|v| v.iter().map(|x| substitute(x, &values)).collect::<Vec<_>>());
            if writes_policy {
                assert_eq!(
                    resources,
                    std::slice::from_ref(reader),
                    "{}: {action}",
                    statement.sid
                );
                assert_eq!(
                    sets_boundary.as_deref(),
                    Some(std::slice::from_ref(&boundary)),
                    "{}: {action} without the reader boundary",
                    statement.sid
                );
            }
            if action == "iam:CreateRole" && resources.contains(reader) {
                assert_eq!(
                    sets_boundary.as_deref(),
                    Some(std::slice::from_ref(&boundary)),
                    "{}: the reader role is created only with its boundary",
                    statement.sid
                );
            }
            if action == "iam:AttachRolePolicy" {
                let allowed = statement
                    .conditions
                    .get("ArnEquals iam:PolicyARN")
                    .expect("AttachRolePolicy names the policies");
                let allowed: BTreeSet<String> =
                    allowed.iter().map(|x| substitute(x, &values)).collect();
                let used: BTreeSet<String> = ["ViewOnlyAccess", "Billing", "SupportUser"]
                    .iter()
                    .map(|p| format!("arn:aws:iam::aws:policy/job-function/{p}"))
                    .collect();
                assert_eq!(allowed, used, "{}", statement.sid);
                assert!(
                    !resources.contains(reader),
                    "the reader role gets no managed policy"
                );
            }
        }
    }
    for target in roles.iter().chain(&providers) {
        if !reached.contains(target.as_str()) {
            problems.push(format!(
                "the execution role cannot manage {target}, which a template creates"
            ));
        }
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));

    // The reader role the execution role deploys carries the boundary it requires.
    let doc = load_template("cross-account-roles.yaml");
    let reader_role = get(&doc, "Resources")
        .and_then(|r| get(r, "ReaderRole"))
        .and_then(|r| get(r, "Properties"))
        .unwrap();
    let bound =
        get(reader_role, "PermissionsBoundary").expect("the reader role can carry a boundary");
    let text = format!("{bound:?}");
    assert!(text.contains("policy/fedsync-reader-boundary"), "{text}");
}
