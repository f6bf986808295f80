//! policy: the IAM grants in cfn/ match the AWS calls in src/, action for action.
//!
//! The code side: every AWS SDK operation the sync task's code sends (`.send()` on an SDK fluent
//! builder, found by reading src/), mapped to IAM actions by [`CALLS`]; the actions a call needs
//! only implicitly (KMS behind SSM, Secrets Manager and S3) are listed with the call and the
//! reason. The template side: the `Allow` actions of the task role's inline policies
//! (cfn/environment.yaml) and of the reader role's (cfn/cross-account-roles.yaml), read with a
//! YAML parser that keeps CloudFormation's short tags. A surplus on either side fails, with a
//! message that says which action to grant or remove and where.
//!
//! The task's grants depend on the stack's `Credential` parameter: the Entra credential comes
//! from the Secrets Manager secret (`secret`, `certificate`) or from `sts:GetWebIdentityToken`
//! (`aws-federation`). A row of [`CALLS`] names the `Credential` values it is made with, and the
//! task role is compared for each value, as a stack with that value has it.
//!
//! `fedsync rotate` is not the task: its calls (src/aws/rotate.rs) are mapped by
//! [`WRITER_CALLS`] and compared with the opt-in writer role (cfn/provider-writer-role.yaml),
//! whose trust and resources are checked too.
//!
//! When you add an AWS call: add its row to [`CALLS`] (or [`WRITER_CALLS`]; the action is in the
//! AWS Service Authorization Reference), grant it in the template, and this test passes again.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

use regex::Regex;
use saphyr::YamlOwned as Yaml;
use serde_json::Value;

use crate::support::cfn::{
    Evaluated, allowed_values, evaluate, get, load_template, parameter_default, parameters,
    role_statements, role_statements_in, strings, task_definition_environment_in, untagged,
};
use crate::support::{fedsync, stdout};

/// One SDK operation fedsync calls and the IAM actions it needs.
struct Call {
    /// The operation's method on the SDK client (`client.list_roles()`).
    op: &'static str,
    /// The action the operation is authorised by.
    needs: &'static [&'static str],
    /// Actions the call needs on other services, and why.
    implies: &'static [(&'static str, &'static str)],
    /// Made in every child account through the reader role, so the reader role grants it too.
    reader: bool,
    /// The `Credential` values (cfn/environment.yaml) with which the task makes the call, so
    /// the task role grants it in a stack with one of them and in no other; empty: every value.
    credentials: &'static [&'static str],
}

const fn call(op: &'static str, needs: &'static [&'static str]) -> Call {
    Call {
        op,
        needs,
        implies: &[],
        reader: false,
        credentials: &[],
    }
}

/// Every AWS operation the sync task may call, keyed by SDK method name (unique across the
/// services fedsync uses). Sources: the AWS Service Authorization Reference.
const CALLS: &[Call] = &[
    // src/aws/inventory.rs: which account the task runs in. Needs no permission.
    call("get_caller_identity", &[]),
    // src/aws/organization.rs
    call("list_accounts", &["organizations:ListAccounts"]),
    // src/aws/account.rs: into each child account's reader role...
    call("assume_role", &["sts:AssumeRole"]),
    // ...and, through it (or the task's own role in the management account), IAM reads.
    Call {
        reader: true,
        ..call("list_saml_providers", &["iam:ListSAMLProviders"])
    },
    Call {
        reader: true,
        ..call("get_saml_provider", &["iam:GetSAMLProvider"])
    },
    Call {
        reader: true,
        ..call("list_roles", &["iam:ListRoles"])
    },
    // src/settings/sources.rs
    Call {
        implies: &[(
            "kms:Decrypt",
            "SecureString settings are read with_decryption(true); the stack's key encrypts them",
        )],
        ..call("get_parameters_by_path", &["ssm:GetParametersByPath"])
    },
    Call {
        implies: &[(
            "kms:Decrypt",
            "the credential secret is encrypted with the stack's key",
        )],
        credentials: &["secret", "certificate"],
        ..call("get_secret_value", &["secretsmanager:GetSecretValue"])
    },
    // src/aws/federation.rs: with no secret, the sync app's Entra credential is a JWT STS issues
    // to the task role (outbound identity federation); src/graph/auth.rs presents it to Entra.
    // No tags are sent, so no sts:TagGetWebIdentityToken.
    Call {
        credentials: &["aws-federation"],
        ..call("get_web_identity_token", &["sts:GetWebIdentityToken"])
    },
    // src/backup.rs and src/lease.rs
    call("list_objects_v2", &["s3:ListBucket"]),
    Call {
        implies: &[(
            "kms:Decrypt",
            "backups and the lease are SSE-KMS objects (the bucket's default encryption)",
        )],
        ..call("get_object", &["s3:GetObject"])
    },
    Call {
        implies: &[(
            "kms:GenerateDataKey",
            "backups and the lease are written SSE-KMS (FEDSYNC_BACKUP_KMS_KEY, the bucket default)",
        )],
        ..call("put_object", &["s3:PutObject"])
    },
    call("delete_object", &["s3:DeleteObject"]),
];

/// Parts of src/ that are not the sync task's AWS calls, and why.
const NOT_THE_TASK: &[(&str, &str)] = &[
    (
        "src/graph/",
        "Microsoft Graph over reqwest; its `.send()` is an HTTP request, not an AWS call",
    ),
    (
        "src/aws/ous.rs",
        "`fedsync shard-plan` reads the OU tree as an administrator in the management account, not in the task",
    ),
    (
        "src/setup/",
        "`fedsync setup` runs once, as an administrator, not in the task: it writes the settings the task only reads",
    ),
    (
        "src/aws/rotate.rs",
        "fedsync rotate runs as an administrator through the opt-in writer role, not in the task",
    ),
];

/// The source of `fedsync rotate`'s AWS calls; [`WRITER_CALLS`] maps them.
const ROTATE_SOURCE: &str = "src/aws/rotate.rs";

/// Every AWS operation `fedsync rotate` calls in [`ROTATE_SOURCE`], and what the writer role
/// (cfn/provider-writer-role.yaml, WriterRole) grants for it.
const WRITER_CALLS: &[Call] = &[
    // (The administrator's own AssumeRole into each account's writer role is made through
    // src/aws/account.rs's `assumed_credentials`, shared with the inventory: allowed by the
    // admin's own permissions and the writer role's trust policy, not a grant of the writer role.)
    // Through the writer role (the admin's own credentials in the management account): re-check
    // the provider is ours, update it, read it back.
    call("get_saml_provider", &["iam:GetSAMLProvider"]),
    call("update_saml_provider", &["iam:UpdateSAMLProvider"]),
];

/// An AWS SDK operation sent somewhere in src/.
#[derive(Debug, Clone, PartialEq, Eq)]
struct SentCall {
    op: String,
    at: String,
}

fn repo() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// The `.rs` files under `dir`, sorted.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut files = Vec::new();
    let mut dirs = vec![dir.to_path_buf()];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("read src/") {
            let path = entry.expect("a directory entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "rs") {
                files.push(path);
            }
        }
    }
    files.sort();
    files
}

fn is_ident(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b == b'_'
}

/// `src` with comments removed and the contents of string and char literals blanked (same
/// length, newlines kept), so a `.send()` or a `)` inside them does not count.
fn code_only(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = b.to_vec();
    let blank = |out: &mut Vec<u8>, i: usize| {
        if out[i] != b'\n' {
            out[i] = b' ';
        }
    };
    let mut i = 0;
    while i < b.len() {
        let raw_start = b[i] == b'r'
            && (i == 0
                || !is_ident(b[i - 1])
                || (b[i - 1] == b'b' && (i < 2 || !is_ident(b[i - 2]))));
        if b[i] == b'/' && b.get(i + 1) == Some(&b'/') {
            while i < b.len() && b[i] != b'\n' {
                blank(&mut out, i);
                i += 1;
            }
        } else if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
            let mut depth = 0;
            while i < b.len() {
                if b[i] == b'/' && b.get(i + 1) == Some(&b'*') {
                    depth += 1;
                    blank(&mut out, i);
                    blank(&mut out, i + 1);
                    i += 2;
                } else if b[i] == b'*' && b.get(i + 1) == Some(&b'/') {
                    depth -= 1;
                    blank(&mut out, i);
                    blank(&mut out, i + 1);
                    i += 2;
                    if depth == 0 {
                        break;
                    }
                } else {
                    blank(&mut out, i);
                    i += 1;
                }
            }
        } else if raw_start && matches!(b.get(i + 1), Some(b'"' | b'#')) {
            let hashes = b[i + 1..].iter().take_while(|&&c| c == b'#').count();
            let open = i + 1 + hashes;
            if b.get(open) != Some(&b'"') {
                i += 1;
                continue;
            }
            let close: Vec<u8> = std::iter::once(b'"')
                .chain(std::iter::repeat_n(b'#', hashes))
                .collect();
            i = open + 1;
            while i < b.len() && !b[i..].starts_with(&close) {
                blank(&mut out, i);
                i += 1;
            }
            i += close.len();
        } else if b[i] == b'"' {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    blank(&mut out, i);
                    i += 1;
                }
                blank(&mut out, i);
                i += 1;
            }
            i += 1;
        } else if b[i] == b'\'' {
            // A char literal ('x', '\n', '\u{1F600}'), or else a lifetime.
            let rest = &src[i + 1..];
            let len = if rest.starts_with('\\') {
                rest.find('\'').filter(|&n| n > 1)
            } else {
                rest.chars()
                    .next()
                    .map(char::len_utf8)
                    .filter(|&n| rest.as_bytes().get(n) == Some(&b'\''))
            };
            match len {
                Some(len) => {
                    for j in i + 1..i + 1 + len {
                        blank(&mut out, j);
                    }
                    i += len + 2;
                }
                None => i += 1,
            }
        } else {
            i += 1;
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// `code` (already [`code_only`]) with its inline `#[cfg(test)] mod ... { }` blocks blanked.
fn without_tests(code: &str) -> String {
    let start = Regex::new(r"#\[cfg\(test\)\]\s*mod\s+\w+\s*\{").unwrap();
    let mut out = code.as_bytes().to_vec();
    for m in start.find_iter(code) {
        let mut depth = 0;
        for byte in &mut out[m.end() - 1..] {
            match *byte {
                b'{' => depth += 1,
                b'}' => depth -= 1,
                _ => {}
            }
            if *byte != b'\n' {
                *byte = b' ';
            }
            if depth == 0 {
                break;
            }
        }
    }
    String::from_utf8(out).expect("blanking keeps UTF-8")
}

/// The position of the `(` that matches the `)` at `close`.
fn matching_open(code: &[u8], close: usize) -> usize {
    let mut depth = 0;
    for i in (0..=close).rev() {
        match code[i] {
            b')' => depth += 1,
            b'(' => {
                depth -= 1;
                if depth == 0 {
                    return i;
                }
            }
            _ => {}
        }
    }
    panic!("unbalanced parentheses before offset {close}")
}

/// The method chain that ends at the `.` at `dot`, leftmost first: (name, is a call).
fn chain_before(code: &[u8], dot: usize) -> Vec<(String, bool)> {
    let back_over_space = |mut j: usize| {
        while j > 0 && code[j - 1].is_ascii_whitespace() {
            j -= 1;
        }
        j
    };
    let mut elements = Vec::new();
    let mut at = dot;
    loop {
        let mut j = back_over_space(at);
        if j > 0 && code[j - 1] == b'?' {
            j -= 1;
        }
        let mut is_call = false;
        if j > 0 && code[j - 1] == b')' {
            j = back_over_space(matching_open(code, j - 1));
            is_call = true;
        }
        let end = j;
        while j > 0 && is_ident(code[j - 1]) {
            j -= 1;
        }
        if j == end {
            break;
        }
        elements.push((String::from_utf8_lossy(&code[j..end]).into_owned(), is_call));
        let before = back_over_space(j);
        if before > 0 && code[before - 1] == b'.' && !(before > 1 && code[before - 2] == b'.') {
            at = before - 1;
        } else {
            break;
        }
    }
    elements.reverse();
    elements
}

/// The SDK operations `.send()` in `source` (already [`code_only`]).
fn sent_ops(source: &str, file: &str) -> Vec<SentCall> {
    let send = Regex::new(r"\.\s*send\s*\(\s*\)").unwrap();
    let first_method = Regex::new(r"\.\s*([a-z_][a-z0-9_]*)\s*\(").unwrap();
    let bytes = source.as_bytes();
    let mut calls = Vec::new();
    for m in send.find_iter(source) {
        let line = source[..m.start()].matches('\n').count() + 1;
        let at = format!("{file}:{line}");
        let chain = chain_before(bytes, m.start());
        // The operation is the chain's first call after its receiver (`self.s3.put_object()`,
        // `Client::new(sdk).list_roles()`); a bare `request.send()` sends a builder bound
        // earlier with `let [mut] request = ...`.
        let op = match chain.iter().skip(1).find(|(_, is_call)| *is_call) {
            Some((name, _)) => Some(name.clone()),
            None => chain.first().and_then(|(root, _)| {
                let binding = Regex::new(&format!(r"let\s+(mut\s+)?{root}\s*=")).unwrap();
                let bound = binding.find_iter(&source[..m.start()]).last()?;
                let init = &source[bound.end()..m.start()];
                Some(first_method.captures(init)?[1].to_owned())
            }),
        };
        let op = op.unwrap_or_else(|| {
            panic!("{at}: cannot tell which operation this `.send()` sends; write it as `client.operation()...send()`")
        });
        calls.push(SentCall { op, at });
    }
    calls
}

/// Every AWS SDK operation the sync task's code sends, with where.
fn calls_in_src() -> Vec<SentCall> {
    let mut calls = Vec::new();
    for path in rust_files(&repo().join("src")) {
        let file = path
            .strip_prefix(repo())
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        if NOT_THE_TASK.iter().any(|(dir, _)| file.starts_with(dir)) {
            continue;
        }
        let text = std::fs::read_to_string(&path).expect("read a source file");
        let code = code_only(&text);
        calls.extend(sent_ops(&without_tests(&code), &file));
    }
    calls
}

/// Which call table a role is held to, and what to tell a developer about it.
struct Table {
    rows: &'static [Call],
    /// `CALLS`, `WRITER_CALLS`.
    name: &'static str,
    /// The role that must grant a new call's action, as a message names it.
    grantee: &'static str,
}

const TASK: Table = Table {
    rows: CALLS,
    name: "CALLS",
    grantee: "the task role (cfn/environment.yaml, TaskRole)",
};

const WRITER: Table = Table {
    rows: WRITER_CALLS,
    name: "WRITER_CALLS",
    grantee: "the writer role (cfn/provider-writer-role.yaml, WriterRole)",
};

/// The IAM actions the code needs, each with the calls that need it; panics on a call that
/// `table` does not know.
fn actions_for(
    calls: &[SentCall],
    table: &Table,
    only_reader: bool,
) -> BTreeMap<String, Vec<String>> {
    let mut unknown = Vec::new();
    let mut actions: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for sent in calls {
        let Some(row) = table.rows.iter().find(|c| c.op == sent.op) else {
            unknown.push(format!(
                "{}: `{}` is an AWS call tests/it/policy.rs does not know: add a row to {} \
                 with the IAM action it needs, and grant that action to {}",
                sent.at, sent.op, table.name, table.grantee
            ));
            continue;
        };
        if only_reader && !row.reader {
            continue;
        }
        let implied = row.implies.iter().map(|(action, _)| action);
        for action in row.needs.iter().chain(implied) {
            actions
                .entry((*action).to_owned())
                .or_default()
                .push(format!("{} ({})", sent.op, sent.at));
        }
    }
    assert!(unknown.is_empty(), "\n{}\n", unknown.join("\n"));
    actions
}

/// The `Credential` values cfn/environment.yaml allows.
fn credentials() -> Vec<String> {
    allowed_values("environment.yaml", "Credential")
}

/// The calls of `calls` that the task makes with `Credential=credential`, and those `table` does
/// not know (so that [`actions_for`] names them).
fn made_with(calls: &[SentCall], table: &Table, credential: &str) -> Vec<SentCall> {
    calls
        .iter()
        .filter(|sent| match table.rows.iter().find(|c| c.op == sent.op) {
            Some(row) => row.credentials.is_empty() || row.credentials.contains(&credential),
            None => true,
        })
        .cloned()
        .collect()
}

/// Panics when a row of `table` is a call `calls` does not make.
fn assert_no_stale_rows(calls: &[SentCall], table: &Table, source: &str) {
    let stale: Vec<&str> = table
        .rows
        .iter()
        .map(|row| row.op)
        .filter(|op| !calls.iter().any(|c| c.op == *op))
        .collect();
    assert!(
        stale.is_empty(),
        "{} in tests/it/policy.rs lists {stale:?}, which {source} no longer calls: remove the rows",
        table.name
    );
}

/// The actions `Allow`ed by the inline policies of the role `logical_id` in `template`, with the
/// parameter defaults.
fn granted(template: &str, logical_id: &str) -> BTreeSet<String> {
    granted_in(template, logical_id, &parameters(template, &[]))
}

/// [`granted`] in a stack with `values` ([`parameters`]).
fn granted_in(
    template: &str,
    logical_id: &str,
    values: &BTreeMap<String, String>,
) -> BTreeSet<String> {
    let doc = load_template(template);
    let resources = get(&doc, "Resources").expect("a Resources section");
    for (name, resource) in untagged(resources)
        .as_mapping()
        .expect("Resources is a mapping")
    {
        let kind = get(resource, "Type").and_then(Yaml::as_str).unwrap_or("");
        // A managed policy attached to no one can only be a permissions boundary.
        let attached = ["Roles", "Users", "Groups"].iter().any(|k| {
            get(resource, "Properties")
                .and_then(|p| get(p, k))
                .is_some()
        });
        assert!(
            !(matches!(kind, "AWS::IAM::Policy" | "AWS::IAM::RolePolicy")
                || kind == "AWS::IAM::ManagedPolicy" && attached),
            "cfn/{template}: {:?} is a separate {kind}; policy.rs reads only the roles' inline \
             Policies, so keep the grants there (or teach policy.rs to read it)",
            name.as_str()
        );
    }
    let role = get(resources, logical_id)
        .unwrap_or_else(|| panic!("cfn/{template} has no resource {logical_id}"));
    let properties = get(role, "Properties").expect("the role has Properties");
    assert!(
        get(properties, "ManagedPolicyArns").is_none(),
        "cfn/{template}: {logical_id} attaches managed policies, which policy.rs cannot read; \
         grant with inline Policies"
    );
    let mut actions = BTreeSet::new();
    for statement in role_statements_in(template, logical_id, values) {
        if !statement.allow {
            continue;
        }
        for name in statement.actions {
            assert!(
                !name.contains('*'),
                "cfn/{template}: {logical_id} grants {name}; grant named actions, not wildcards"
            );
            actions.insert(name);
        }
    }
    actions
}

/// Both sides' surplus, as the lines of a failure message (empty when they match); `table` is the
/// call table that maps the calls (`CALLS`, `WRITER_CALLS`).
fn compare(
    needed: &BTreeMap<String, Vec<String>>,
    granted: &BTreeSet<String>,
    role: &str,
    table: &str,
) -> Vec<String> {
    let mut problems = Vec::new();
    for (action, callers) in needed {
        if !granted.contains(action) {
            problems.push(format!(
                "{role} lacks {action}, which {} needs: grant it",
                callers.join(", ")
            ));
        }
    }
    for action in granted {
        if !needed.contains_key(action) {
            problems.push(format!(
                "{role} grants {action}, which no call in src/ needs: remove it (or, if a call \
                 needs it, add it to that call's row in {table})"
            ));
        }
    }
    problems
}

#[test]
fn the_task_role_grants_exactly_the_actions_the_code_calls() {
    let calls = calls_in_src();
    let mut problems = Vec::new();
    for credential in credentials() {
        let needed = actions_for(&made_with(&calls, &TASK, &credential), &TASK, false);
        let values = parameters("environment.yaml", &[("Credential", &credential)]);
        problems.extend(compare(
            &needed,
            &granted_in("environment.yaml", "TaskRole", &values),
            &format!("the task role (cfn/environment.yaml, TaskRole, Credential={credential})"),
            "CALLS",
        ));
    }
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The call table names only `Credential` values the template offers; the secret's read and the
/// web identity token are each made with some of them and not with the others.
#[test]
fn the_call_table_knows_each_credential_the_template_offers() {
    let offered = credentials();
    for row in CALLS {
        for credential in row.credentials {
            assert!(
                offered.iter().any(|o| o == credential),
                "CALLS: {} names Credential={credential}, which cfn/environment.yaml does not \
                 offer ({offered:?})",
                row.op
            );
        }
    }
    let with = |op: &str| -> BTreeSet<&str> {
        let row = CALLS.iter().find(|c| c.op == op).expect("a row");
        row.credentials.iter().copied().collect()
    };
    let secret = with("get_secret_value");
    let federation = with("get_web_identity_token");
    assert!(
        secret.is_disjoint(&federation),
        "{secret:?} vs {federation:?}"
    );
    let all: BTreeSet<&str> = offered.iter().map(String::as_str).collect();
    assert_eq!(
        secret.union(&federation).copied().collect::<BTreeSet<_>>(),
        all,
        "every Credential value gets the sync app an Entra credential one way"
    );
}

#[test]
fn the_reader_role_grants_exactly_the_iam_reads() {
    let needed = actions_for(&calls_in_src(), &TASK, true);
    assert!(!needed.is_empty(), "the inventory makes IAM reads");
    let problems = compare(
        &needed,
        &granted("cross-account-roles.yaml", "ReaderRole"),
        "the reader role (cfn/cross-account-roles.yaml, ReaderRole)",
        "CALLS",
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// Every AWS SDK operation [`ROTATE_SOURCE`] sends, with where.
fn calls_in_rotate() -> Vec<SentCall> {
    let text = std::fs::read_to_string(repo().join(ROTATE_SOURCE))
        .unwrap_or_else(|e| panic!("read {ROTATE_SOURCE}: {e}"));
    sent_ops(&without_tests(&code_only(&text)), ROTATE_SOURCE)
}

#[test]
fn the_writer_role_grants_exactly_what_rotate_calls() {
    let calls = calls_in_rotate();
    let needed = actions_for(&calls, &WRITER, false);
    assert_no_stale_rows(&calls, &WRITER, ROTATE_SOURCE);
    let problems = compare(
        &needed,
        &granted("provider-writer-role.yaml", "WriterRole"),
        "the writer role (cfn/provider-writer-role.yaml, WriterRole)",
        "WRITER_CALLS",
    );
    assert!(problems.is_empty(), "\n{}\n", problems.join("\n"));
}

/// The writer role is opt-in: it trusts one principal, the admin role the deployer names, and
/// reaches only the SAML providers it names.
#[test]
fn the_writer_role_trusts_only_the_admin_role_and_reaches_only_the_named_providers() {
    let template = "provider-writer-role.yaml";
    let doc = load_template(template);
    let admin = get(&doc, "Parameters")
        .and_then(|p| get(p, "AdminRoleArn"))
        .expect("a parameter AdminRoleArn");
    assert!(
        get(admin, "Default").is_none(),
        "cfn/{template}: AdminRoleArn has a default; an administrator must name the role"
    );
    let mut values: BTreeMap<String, String> = [
        ("AWS::Partition", "aws"),
        ("AWS::AccountId", "111122223333"),
        ("ManagementAccountId", "999988887777"),
        (
            "AdminRoleArn",
            "arn:aws:iam::999988887777:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_*",
        ),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();

    // Trust: one statement, sts:AssumeRole for the management account, narrowed by
    // aws:PrincipalArn to the admin role alone.
    let properties = get(&doc, "Resources")
        .and_then(|r| get(r, "WriterRole"))
        .and_then(|r| get(r, "Properties"))
        .expect("WriterRole has Properties");
    let trust = get(properties, "AssumeRolePolicyDocument")
        .and_then(|d| get(d, "Statement"))
        .and_then(|s| untagged(s).as_sequence())
        .expect("WriterRole has a trust policy with a Statement list");
    assert_eq!(
        trust.len(),
        1,
        "cfn/{template}: the trust policy has one statement"
    );
    let statement = &trust[0];
    assert_eq!(
        get(statement, "Effect").and_then(Yaml::as_str),
        Some("Allow")
    );
    assert_eq!(
        strings(get(statement, "Action").expect("an Action")),
        ["sts:AssumeRole"]
    );
    assert!(get(statement, "NotPrincipal").is_none());
    let principal = get(statement, "Principal").expect("a Principal");
    let kinds: Vec<&str> = untagged(principal)
        .as_mapping()
        .expect("Principal is a mapping")
        .keys()
        .map(|kind| kind.as_str().unwrap_or("?"))
        .collect();
    assert_eq!(
        kinds,
        ["AWS"],
        "cfn/{template}: the writer role trusts {kinds:?}"
    );
    let trusted = get(principal, "AWS").expect("an AWS principal");
    assert_eq!(
        evaluate(trusted, &values),
        Evaluated::String("arn:aws:iam::999988887777:root".to_owned()),
        "cfn/{template}: the writer role trusts the management account"
    );
    let condition = get(statement, "Condition").expect("a Condition narrowing the account");
    let operators: Vec<&str> = untagged(condition)
        .as_mapping()
        .expect("Condition is a mapping")
        .keys()
        .map(|k| k.as_str().unwrap_or("?"))
        .collect();
    assert_eq!(operators, ["ArnLike"], "cfn/{template}");
    let principal_arn = get(condition, "ArnLike")
        .and_then(|c| get(c, "aws:PrincipalArn"))
        .expect("ArnLike on aws:PrincipalArn");
    assert_eq!(
        evaluate(principal_arn, &values),
        Evaluated::String(values["AdminRoleArn"].clone()),
        "cfn/{template}: only the admin role may assume the writer role"
    );

    // Resources: SAML provider ARNs of this account, no wildcard.
    let provider_arn = "arn:${AWS::Partition}:iam::${AWS::AccountId}:saml-provider/";
    for statement in role_statements(template, "WriterRole") {
        for resource in &statement.resources {
            assert!(
                resource.starts_with(provider_arn)
                    && !resource[provider_arn.len()..].contains(['*', '?']),
                "cfn/{template}: WriterRole {:?} reaches {resource}; only named SAML providers",
                statement.sid
            );
        }
    }
    // ... and exactly the providers SamlProviderNames names, one to five of them.
    let pattern = get(&doc, "Parameters")
        .and_then(|p| get(p, "SamlProviderNames"))
        .and_then(|p| get(p, "AllowedPattern"))
        .and_then(Yaml::as_str)
        .expect("SamlProviderNames has an AllowedPattern");
    // CloudFormation's `\w` is ASCII.
    let pattern = regex::RegexBuilder::new(pattern)
        .unicode(false)
        .build()
        .expect("AllowedPattern is a regular expression");
    assert!(!pattern.is_match("a,b,c,d,e,f"), "six names fit five slots");
    let policies = get(properties, "Policies")
        .and_then(|p| untagged(p).as_sequence())
        .expect("WriterRole has inline Policies");
    for names in ["EntraID", "EntraID,EntraID-shard-2", "a,b,c", "a,b,c,d,e"] {
        assert!(
            pattern.is_match(names),
            "{names} is a valid SamlProviderNames"
        );
        values.insert("SamlProviderNames".to_owned(), names.to_owned());
        let mut reached = BTreeSet::new();
        for policy in policies {
            let statements = get(policy, "PolicyDocument")
                .and_then(|d| get(d, "Statement"))
                .and_then(|s| untagged(s).as_sequence())
                .expect("a Statement list");
            for statement in statements {
                let resource = get(statement, "Resource").expect("a Resource");
                let arns = match evaluate(resource, &values) {
                    Evaluated::String(arn) => vec![arn],
                    Evaluated::List(arns) => arns,
                };
                reached.extend(arns);
            }
        }
        let expected: BTreeSet<String> = names
            .split(',')
            .map(|name| format!("arn:aws:iam::111122223333:saml-provider/{name}"))
            .collect();
        assert_eq!(reached, expected, "SamlProviderNames={names}");
    }
    // The default is the provider saml-roles.yaml creates.
    assert_eq!(
        parameter_default(template, "SamlProviderNames"),
        parameter_default("saml-roles.yaml", "SamlProviderName")
    );
}

#[test]
fn every_row_of_the_call_table_is_a_call_the_code_makes() {
    assert_no_stale_rows(&calls_in_src(), &TASK, "src/");
}

#[test]
fn the_scanner_reads_sdk_calls_as_src_writes_them() {
    let source = r#"
        async fn f(&self, s3: &Client, sdk: &SdkConfig) {
            // A comment is not code: self.iam.delete_role().send()
            let out = self
                .s3
                .put_object()
                .key(format!("a)b{}", ')'))
                .send()
                .await?;
            let mut request = s3.get_object().bucket("x");
            if let Some(k) = key { request = request.key(k); }
            request.send().await;
            let mut pages = aws_sdk_ssm::Client::new(sdk)
                .get_parameters_by_path()
                .into_paginator()
                .send();
            let s = "not code: iam.create_user().send()";
            ctx.sts.assume_role().role_arn(arn.to_string()).send().await;
            tx.send(value).await;
        }
    "#;
    let ops: Vec<String> = sent_ops(&code_only(source), "snippet.rs")
        .into_iter()
        .map(|c| c.op)
        .collect();
    assert_eq!(
        ops,
        [
            "put_object",
            "get_object",
            "get_parameters_by_path",
            "assume_role"
        ]
    );
}

/// `fedsync config show --output json` with no setting: each setting's name and default.
fn fedsync_defaults() -> BTreeMap<String, Value> {
    let output = fedsync()
        .args(["config", "show", "--output", "json"])
        .output()
        .expect("run fedsync");
    let rows: Value = serde_json::from_str(&stdout(&output)).expect("config show prints JSON");
    rows.as_array()
        .expect("a list of settings")
        .iter()
        .map(|row| {
            (
                row["name"].as_str().unwrap().to_owned(),
                row["value"].clone(),
            )
        })
        .collect()
}

#[test]
fn the_templates_set_fedsync_settings_by_their_names_and_defaults() {
    let defaults = fedsync_defaults();
    // The task definition's FEDSYNC_* variables are settings fedsync knows, whichever Credential
    // the stack has.
    let known: BTreeSet<String> = defaults
        .keys()
        .map(|name| format!("FEDSYNC_{}", name.to_uppercase().replace('-', "_")))
        .chain(["FEDSYNC_SSM_PREFIX".to_owned()])
        .collect();
    let mut set = BTreeSet::new();
    for credential in credentials() {
        let values = parameters("environment.yaml", &[("Credential", &credential)]);
        for variable in &task_definition_environment_in(&values) {
            let name = get(variable, "Name")
                .and_then(Yaml::as_str)
                .expect("a Name");
            if name.starts_with("FEDSYNC_") {
                assert!(
                    known.contains(name),
                    "the task sets {name} (Credential={credential}), which fedsync does not read"
                );
                set.insert(name.to_owned());
            }
        }
    }
    for name in [
        "FEDSYNC_BACKUP_BUCKET",
        "FEDSYNC_SSM_PREFIX",
        "FEDSYNC_CREDENTIAL",
        "FEDSYNC_CREDENTIALS_SECRET",
        "FEDSYNC_FEDERATION_AUDIENCE",
    ] {
        assert!(set.contains(name), "{name} in {set:?}");
    }

    // Parameters that stand for a fedsync setting default to fedsync's default.
    for (template, parameter, setting) in [
        ("environment.yaml", "ReaderRoleName", "cross-account-role"),
        (
            "cross-account-roles.yaml",
            "ReaderRoleName",
            "cross-account-role",
        ),
        ("environment.yaml", "BackupPrefix", "backup-prefix"),
        ("environment.yaml", "NamingConvention", "naming-convention"),
        (
            "environment.yaml",
            "CertificateWarnDays",
            "certificate-warn-days",
        ),
        (
            "environment.yaml",
            "FederationAudience",
            "federation-audience",
        ),
        (
            "provider-writer-role.yaml",
            "WriterRoleName",
            "provider-writer-role",
        ),
    ] {
        assert_eq!(
            Value::String(parameter_default(template, parameter)),
            defaults[setting],
            "cfn/{template} {parameter} vs fedsync's default {setting}"
        );
    }
    // The reader roles trust the role the environment stack names.
    assert_eq!(
        parameter_default("cross-account-roles.yaml", "SyncTaskRoleName"),
        format!("{}-task", parameter_default("environment.yaml", "Name"))
    );
}

/// The bucket's lifecycle rules that delete current objects expire backups and never the state
/// record beside them (the assignments a disable removed, given back when the role returns).
#[test]
fn the_lifecycle_rule_expires_backups_and_never_the_state_record() {
    let doc = load_template("environment.yaml");
    let rules = get(&doc, "Resources")
        .and_then(|r| get(r, "BackupBucket"))
        .and_then(|b| get(b, "Properties"))
        .and_then(|p| get(p, "LifecycleConfiguration"))
        .and_then(|l| get(l, "Rules"))
        .and_then(|r| untagged(r).as_sequence())
        .expect("BackupBucket has lifecycle rules");
    let prefix = parameter_default("environment.yaml", "BackupPrefix");
    let at = time::macros::datetime!(2026-12-02 03:04:29.148 UTC);
    let sp = "5f0b5a8e-3c1d-4d0e-9a57-6a3b2f1e0c11";
    let backup = fedsync::backup::backup_key(&prefix, at, sp);
    let state = fedsync::store::state_key(sp);
    let far_future = fedsync::backup::backup_key(&prefix, datetime_in(2999), sp);
    let mut expiring = 0;
    for rule in rules {
        if get(rule, "ExpirationInDays").is_none() {
            continue;
        }
        expiring += 1;
        let rule_prefix = get(rule, "Prefix").expect("an expiring rule names its prefix");
        // `!Ref BackupPrefix` or `!Sub "${BackupPrefix}…"`.
        let rule_prefix = match untagged(rule_prefix).as_str() {
            Some(s) if s.contains("${BackupPrefix}") => s.replace("${BackupPrefix}", &prefix),
            Some("BackupPrefix") => prefix.clone(),
            other => panic!("an expiring rule's prefix is {other:?}"),
        };
        assert!(
            backup.starts_with(&rule_prefix),
            "{backup} vs {rule_prefix}"
        );
        assert!(
            far_future.starts_with(&rule_prefix),
            "{far_future} vs {rule_prefix}"
        );
        assert!(
            !state.starts_with(&rule_prefix),
            "{state} expires under {rule_prefix}"
        );
    }
    assert_eq!(expiring, 1, "one rule expires backups");
}

fn datetime_in(year: i32) -> time::OffsetDateTime {
    time::Date::from_calendar_date(year, time::Month::January, 1)
        .unwrap()
        .midnight()
        .assume_utc()
}

/// The `$.field` names a metric filter reads, in its pattern and its value.
fn summary_fields_read(text: &str) -> Vec<String> {
    let mut fields = Vec::new();
    let mut rest = text;
    while let Some(at) = rest.find("$.") {
        rest = &rest[at + 2..];
        let end = rest
            .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
            .unwrap_or(rest.len());
        fields.push(rest[..end].to_owned());
        rest = &rest[end..];
    }
    fields
}

#[test]
fn the_alarms_read_fields_the_summary_line_has() {
    use fedsync::model::{Current, Inventory, Listing, SyncState};
    use fedsync::plan::{PlanSettings, guardrail};
    // A real summary line, built by the code that prints it.
    let inventory = Inventory::new(Listing::Organization, Vec::new());
    let current = Current::of_app_roles("sp", Vec::new());
    let plan = fedsync::plan::plan(
        &inventory,
        &current,
        &SyncState::default(),
        &PlanSettings::default(),
    )
    .unwrap();
    let report = fedsync::sync::SyncReport {
        fill: guardrail::fill(&plan, &guardrail::Guardrails::default()),
        certificates: Default::default(),
        plan,
        inventory,
        refusals: Vec::new(),
        dry_run: false,
        backup_key: None,
        restored_from: None,
        groups_created: Vec::new(),
        assignments_added: 0,
        assignments_removed: 0,
        assignments_restored: 0,
        restores_skipped: Vec::new(),
        duplicate_groups: Vec::new(),
    };
    let line = fedsync::sync::report::to_json(&report, std::time::Duration::ZERO);
    let doc = load_template("environment.yaml");
    let mut read = BTreeSet::new();
    for (name, resource) in untagged(get(&doc, "Resources").unwrap())
        .as_mapping()
        .unwrap()
    {
        if get(resource, "Type").and_then(Yaml::as_str) != Some("AWS::Logs::MetricFilter") {
            continue;
        }
        let properties = get(resource, "Properties").unwrap();
        let mut texts = vec![
            get(properties, "FilterPattern")
                .and_then(Yaml::as_str)
                .unwrap()
                .to_owned(),
        ];
        for transformation in get(properties, "MetricTransformations")
            .and_then(|t| untagged(t).as_sequence())
            .unwrap()
        {
            if let Some(value) = get(transformation, "MetricValue").and_then(Yaml::as_str) {
                texts.push(value.to_owned());
            }
        }
        for field in texts.iter().flat_map(|t| summary_fields_read(t)) {
            // `outcome` and `event` are in every line, a failed run's too.
            assert!(
                line.get(&field).is_some(),
                "cfn/environment.yaml {:?} reads $.{field}, which the summary line does not have: {line}",
                name.as_str()
            );
            read.insert(field);
        }
    }
    assert!(read.contains("entry_fill_percent"), "{read:?}");
    assert!(read.contains("accounts_failed"), "{read:?}");
    assert!(read.contains("certificate_expires_in_days"), "{read:?}");
}

/// The reader role trusts the sync task's role, and a person's role only when the deployer
/// names one (`AdminRoleArn`, empty by default).
#[test]
fn the_reader_role_trusts_an_admin_role_only_when_one_is_named() {
    let template = "cross-account-roles.yaml";
    assert_eq!(parameter_default(template, "AdminRoleArn"), "");
    let doc = load_template(template);
    let trust = get(&doc, "Resources")
        .and_then(|r| get(r, "ReaderRole"))
        .and_then(|r| get(r, "Properties"))
        .and_then(|p| get(p, "AssumeRolePolicyDocument"))
        .and_then(|d| get(d, "Statement"))
        .and_then(|s| untagged(s).as_sequence())
        .expect("the reader role's trust statements");
    assert_eq!(trust.len(), 1, "cfn/{template}: one trust statement");
    let principal_arn = get(&trust[0], "Condition")
        .and_then(|c| get(c, "ArnLike"))
        .and_then(|c| get(c, "aws:PrincipalArn"))
        .expect("ArnLike on aws:PrincipalArn");
    // `!If [HasAdminReader, [task, admin], task]`.
    let Yaml::Tagged(tag, inner) = principal_arn else {
        panic!("cfn/{template}: aws:PrincipalArn is not an !If")
    };
    assert!(tag.suffix.ends_with("If"), "{tag:?}");
    let branches = inner.as_sequence().expect("!If takes a list");
    assert_eq!(branches[0].as_str(), Some("HasAdminReader"));
    let values: BTreeMap<String, String> = [
        ("AWS::Partition", "aws"),
        ("ManagementAccountId", "999988887777"),
        ("SyncTaskRoleName", "fedsync-task"),
        ("AdminRoleArn", "arn:aws:iam::999988887777:role/ops/Admin"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v.to_owned()))
    .collect();
    let task = "arn:aws:iam::999988887777:role/fedsync-task".to_owned();
    assert_eq!(
        evaluate(&branches[1], &values),
        Evaluated::List(vec![task.clone(), values["AdminRoleArn"].clone()])
    );
    assert_eq!(evaluate(&branches[2], &values), Evaluated::String(task));
    let has_admin = get(&doc, "Conditions")
        .and_then(|c| get(c, "HasAdminReader"))
        .expect("a condition HasAdminReader");
    let text = format!("{has_admin:?}");
    assert!(
        text.contains("Not") && text.contains("Equals") && text.contains("AdminRoleArn"),
        "cfn/{template}: HasAdminReader is not `AdminRoleArn is set`: {text}"
    );
}
