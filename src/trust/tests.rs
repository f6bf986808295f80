//! Tests of `trust`: each rule of the module doc, with policies from the IAM User Guide's SAML
//! examples and the shapes real accounts hold.

use super::*;

use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use proptest::prelude::*;
use serde_json::json;

const AZURE: &str = "arn:aws:iam::123456789012:saml-provider/AzureAD";
const OKTA: &str = "arn:aws:iam::123456789012:saml-provider/Okta";
const GLOBAL: &str = "https://signin.aws.amazon.com/saml";

fn arn(s: &str) -> SamlProviderArn {
    s.parse().unwrap()
}

fn ask(policy: &Value) -> Evaluation {
    evaluate(
        &policy.to_string(),
        &[arn(AZURE), arn(OKTA)],
        &Audiences::default(),
    )
}

/// The answers for AzureAD and Okta.
fn answers(policy: &Value) -> (Answer, Answer) {
    let e = ask(policy);
    (e.providers[0].answer, e.providers[1].answer)
}

fn azure(policy: &Value) -> ProviderTrust {
    ask(policy).providers[0].clone()
}

fn encode(text: &str) -> String {
    utf8_percent_encode(text, NON_ALPHANUMERIC).to_string()
}

fn allow(principal: Value, action: Value) -> Value {
    json!({"Effect": "Allow", "Principal": principal, "Action": action})
}

fn saml_allow(federated: Value) -> Value {
    allow(
        json!({"Federated": federated}),
        json!("sts:AssumeRoleWithSAML"),
    )
}

fn with_condition(mut statement: Value, condition: Value) -> Value {
    statement["Condition"] = condition;
    statement
}

fn policy(statements: Value) -> Value {
    json!({"Version": "2012-10-17", "Statement": statements})
}

use Answer::{CantTell, No, Yes};

/// The trust policy the AWS console writes for SAML 2.0 federation.
const CONSOLE_RAW: &str = r#"{
  "Version": "2012-10-17",
  "Statement": [
    {
      "Effect": "Allow",
      "Principal": {"Federated": "arn:aws:iam::123456789012:saml-provider/AzureAD"},
      "Action": "sts:AssumeRoleWithSAML",
      "Condition": {"StringEquals": {"SAML:aud": "https://signin.aws.amazon.com/saml"}}
    }
  ]
}"#;

/// The same policy as `iam list-roles` returns it from real IAM (percent-encoded, compact).
const CONSOLE_ENCODED: &str = "%7B%22Version%22%3A%222012-10-17%22%2C%22Statement%22%3A%5B%7B%22Effect%22%3A%22Allow%22%2C%22Principal%22%3A%7B%22Federated%22%3A%22arn%3Aaws%3Aiam%3A%3A123456789012%3Asaml-provider%2FAzureAD%22%7D%2C%22Action%22%3A%22sts%3AAssumeRoleWithSAML%22%2C%22Condition%22%3A%7B%22StringEquals%22%3A%7B%22SAML%3Aaud%22%3A%22https%3A%2F%2Fsignin.aws.amazon.com%2Fsaml%22%7D%7D%7D%5D%7D";

fn answers_of(document: &str) -> Vec<Answer> {
    evaluate(document, &[arn(AZURE), arn(OKTA)], &Audiences::default())
        .providers
        .iter()
        .map(|p| p.answer)
        .collect()
}

#[test]
fn raw_and_iam_encoded_documents_give_the_same_answers() {
    assert_eq!(answers_of(CONSOLE_RAW), [Yes, No]);
    assert_eq!(answers_of(CONSOLE_ENCODED), [Yes, No]);
    assert_eq!(answers_of(&encode(CONSOLE_RAW)), [Yes, No]);
    assert_eq!(answers_of(&format!("\n  {CONSOLE_RAW}")), [Yes, No]);
}

#[test]
fn plus_in_an_encoded_document_is_a_literal_plus() {
    let plus = "arn:aws:iam::123456789012:saml-provider/Azure+AD";
    let raw = policy(saml_allow(json!(plus))).to_string();
    let encoded = encode(&raw).replace("%2B", "+");
    assert!(encoded.contains("Azure+AD"), "{encoded}");
    let got = evaluate(&encoded, &[arn(plus)], &Audiences::default());
    assert_eq!(got.providers[0].answer, Yes);
}

#[test]
fn statement_may_be_an_object_or_an_array() {
    let one = saml_allow(json!(AZURE));
    assert_eq!(answers(&policy(one.clone())), (Yes, No));
    assert_eq!(answers(&policy(json!([one]))), (Yes, No));
    assert_eq!(
        answers(&policy(json!([
            saml_allow(json!(AZURE)),
            saml_allow(json!(OKTA))
        ]))),
        (Yes, Yes)
    );
    assert_eq!(
        answers(&policy(saml_allow(json!([AZURE, OKTA])))),
        (Yes, Yes)
    );
}

#[test]
fn wildcard_and_case_insensitive_actions_match() {
    for action in [
        json!("sts:*"),
        json!("*"),
        json!("sts:AssumeRole*"),
        json!("STS:assumerolewithsaml"),
        json!("sts:AssumeRoleWith????"),
        json!(["sts:TagSession", "sts:*SAML"]),
    ] {
        let p = policy(allow(json!({"Federated": AZURE}), action.clone()));
        assert_eq!(answers(&p), (Yes, No), "{action}");
    }
}

#[test]
fn other_actions_grant_nothing() {
    for action in [
        json!("sts:AssumeRoleWithWebIdentity"),
        json!("sts:AssumeRole"),
        json!(["sts:TagSession", "sts:SetSourceIdentity"]),
        json!("sts:AssumeRoleWithSAML?"),
        json!("iam:*"),
        json!([]),
    ] {
        let p = policy(allow(json!({"Federated": AZURE}), action.clone()));
        let got = azure(&p);
        assert_eq!(got.answer, No, "{action}");
        assert!(!got.named, "{action}");
    }
}

#[test]
fn not_action_covers_saml_unless_it_lists_it() {
    // The documented pattern: deny everything but the SAML sign-in and session tags.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "Principal": "*",
         "NotAction": ["sts:AssumeRoleWithSAML", "sts:TagSession"]},
    ]));
    assert_eq!(answers(&p), (Yes, No));
    // NotAction that does not list it covers it: allow every action but AssumeRole.
    let p = policy(json!({"Effect": "Allow", "Principal": {"Federated": AZURE},
                          "NotAction": "sts:AssumeRole"}));
    assert_eq!(answers(&p), (Yes, No));
    // And a Deny with NotAction not listing it denies it.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "Principal": "*", "NotAction": "sts:TagSession"},
    ]));
    assert_eq!(answers(&p), (No, No));
    assert!(
        azure(&p).reason.contains("statement 1 denies"),
        "{}",
        azure(&p).reason
    );
}

#[test]
fn everyone_and_federated_wildcards_cover_every_provider_and_a_deny_of_one_wins() {
    let p = policy(allow(json!("*"), json!("sts:AssumeRoleWithSAML")));
    assert_eq!(answers(&p), (Yes, Yes));
    let p = policy(json!([
        saml_allow(json!("*")),
        {"Effect": "Deny", "Principal": {"Federated": OKTA}, "Action": "sts:*"},
    ]));
    assert_eq!(answers(&p), (Yes, No));
    let p = policy(saml_allow(json!(
        "arn:aws:iam::123456789012:saml-provider/Azure*"
    )));
    assert_eq!(answers(&p), (Yes, No));
}

#[test]
fn a_deny_wins_in_any_order() {
    let deny = json!({"Effect": "Deny", "Principal": {"Federated": AZURE}, "Action": "sts:AssumeRoleWithSAML"});
    for statements in [
        json!([saml_allow(json!([AZURE, OKTA])), deny.clone()]),
        json!([deny.clone(), saml_allow(json!([AZURE, OKTA]))]),
    ] {
        assert_eq!(answers(&policy(statements)), (No, Yes));
    }
    for principal in [json!("*"), json!({"Federated": "*"})] {
        let p = policy(json!([
            saml_allow(json!([AZURE, OKTA])),
            {"Effect": "Deny", "Principal": principal, "Action": "*"},
        ]));
        assert_eq!(answers(&p), (No, No), "{principal}");
    }
}

#[test]
fn a_conditional_deny_on_the_audience_applies_only_where_its_condition_holds() {
    // The hardening pattern: deny unless the assertion was presented to the AWS sign-in.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "Principal": {"Federated": AZURE}, "Action": "sts:AssumeRoleWithSAML",
         "Condition": {"StringNotEquals": {"SAML:aud": GLOBAL}}},
    ]));
    let got = azure(&p);
    assert_eq!(got.answer, Yes, "{got:?}");
    assert!(got.reason.contains(GLOBAL), "{}", got.reason);
    // The same Deny with StringEquals shuts the global endpoint, but regional ones stay open
    // unless the Allow restricts the audience too.
    let deny_global = json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML",
                             "Condition": {"StringEquals": {"saml:AUD": GLOBAL}}});
    let p = policy(json!([saml_allow(json!(AZURE)), deny_global.clone()]));
    assert_eq!(azure(&p).answer, Yes);
    let p = policy(json!([
        with_condition(
            saml_allow(json!(AZURE)),
            json!({"StringEquals": {"SAML:aud": GLOBAL}})
        ),
        deny_global
    ]));
    let got = azure(&p);
    assert_eq!(got.answer, No);
    assert!(got.reason.contains("statement 1 denies"), "{}", got.reason);
}

#[test]
fn an_allow_restricted_to_another_audience_is_a_no_naming_the_condition() {
    let p = policy(with_condition(
        saml_allow(json!(AZURE)),
        json!({"StringEquals": {"SAML:aud": "https://example.com/saml"}}),
    ));
    let got = azure(&p);
    assert_eq!(got.answer, No);
    assert!(got.named, "the policy names the provider");
    assert!(
        got.reason.contains("https://example.com/saml") && got.reason.contains("saml-audiences"),
        "{}",
        got.reason
    );
}

#[test]
fn audience_conditions_of_every_operator_are_evaluated() {
    let regional = "https://eu-west-1.signin.aws.amazon.com/saml";
    for (condition, expected) in [
        (
            json!({"StringEquals": {"SAML:aud": [GLOBAL, regional]}}),
            Yes,
        ),
        (json!({"StringEquals": {"SAML:aud": regional}}), Yes),
        (
            json!({"StringEquals": {"SAML:aud": "https://us-gov-west-1.signin.amazonaws-us-gov.com/saml"}}),
            Yes,
        ),
        (
            json!({"StringEquals": {"SAML:aud": "https://signin.amazonaws.cn/saml"}}),
            Yes,
        ),
        (
            json!({"StringEqualsIgnoreCase": {"SAML:aud": "HTTPS://EU-WEST-1.SIGNIN.AWS.AMAZON.COM/SAML"}}),
            Yes,
        ),
        (
            json!({"StringEquals": {"SAML:aud": "HTTPS://SIGNIN.AWS.AMAZON.COM/SAML"}}),
            No,
        ),
        (
            json!({"StringLike": {"SAML:aud": "https://*.signin.aws.amazon.com/saml"}}),
            Yes,
        ),
        (
            json!({"StringLike": {"SAML:aud": "https://signin.aws.amazon.com/*"}}),
            Yes,
        ),
        (
            json!({"StringLike": {"SAML:aud": "https://*.example.com/*"}}),
            No,
        ),
        (json!({"StringNotLike": {"SAML:aud": "https://*"}}), No),
        (json!({"StringNotEquals": {"SAML:aud": GLOBAL}}), Yes),
        (
            json!({"ForAnyValue:StringEquals": {"SAML:aud": GLOBAL}}),
            Yes,
        ),
        (
            json!({"ForAllValues:StringLike": {"SAML:aud": "https://example.com/*"}}),
            No,
        ),
        (json!({"StringEqualsIfExists": {"SAML:aud": GLOBAL}}), Yes),
        (json!({"Null": {"SAML:aud": "true"}}), No),
        (json!({"Null": {"SAML:aud": false}}), Yes),
        (
            json!({"StringEquals": {"SAML:aud": GLOBAL}, "StringNotEquals": {"SAML:aud": GLOBAL}}),
            No,
        ),
    ] {
        let p = policy(with_condition(saml_allow(json!(AZURE)), condition.clone()));
        assert_eq!(azure(&p).answer, expected, "{condition}");
    }
}

#[test]
fn an_unknown_operator_or_a_variable_on_the_audience_is_cant_tell() {
    for condition in [
        json!({"ArnLike": {"SAML:aud": GLOBAL}}),
        json!({"StringLikeIgnoreCase": {"SAML:aud": GLOBAL}}),
        json!({"Whatever:StringEquals": {"SAML:aud": GLOBAL}}),
        json!({"StringEquals": {"SAML:aud": "${saml:doc}"}}),
        json!({"StringEquals": {"SAML:aud": 42}}),
        json!({"StringEquals": {"SAML:aud": []}}),
        json!({"NullIfExists": {"SAML:aud": "false"}}),
        json!("StringEquals"),
        json!({"StringEquals": "SAML:aud"}),
    ] {
        let p = policy(with_condition(saml_allow(json!(AZURE)), condition.clone()));
        let got = azure(&p);
        assert_eq!(got.answer, CantTell, "{condition}");
        assert!(got.reason.starts_with("statement 0"), "{}", got.reason);
    }
}

#[test]
fn conditions_on_keys_that_vary_per_sign_in_narrow_but_never_decide() {
    let narrowing = json!({"IpAddress": {"aws:SourceIp": "203.0.113.0/24"},
                           "StringLike": {"saml:sub": "*@example.com"}});
    let p = policy(with_condition(saml_allow(json!(AZURE)), narrowing));
    let got = ask(&p);
    assert_eq!(got.providers[0].answer, Yes);
    assert_eq!(got.notes.len(), 2, "{:?}", got.notes);
    assert!(got.notes.iter().any(|n| n.contains("aws:SourceIp")));

    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML",
         "Condition": {"BoolIfExists": {"aws:MultiFactorAuthPresent": "false"}}},
    ]));
    let got = ask(&p);
    assert_eq!(got.providers[0].answer, Yes, "{:?}", got.providers[0]);
    assert!(
        got.notes[0].contains("does not make the role a no"),
        "{:?}",
        got.notes
    );
    // Even an operator nobody knows, on such a key, only narrows.
    let p = policy(with_condition(
        saml_allow(json!(AZURE)),
        json!({"Frobnicate": {"aws:PrincipalTag/team": "x"}}),
    ));
    assert_eq!(azure(&p).answer, Yes);
}

#[test]
fn not_principal_on_saml_is_cant_tell_for_that_role_only() {
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "NotPrincipal": {"Federated": AZURE}, "Action": "sts:*"},
    ]));
    let got = azure(&p);
    assert_eq!(got.answer, CantTell);
    assert!(got.reason.contains("NotPrincipal"), "{}", got.reason);
    // NotPrincipal about another action changes nothing.
    let p = policy(json!([
        {"Effect": "Deny", "NotPrincipal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"},
        saml_allow(json!(AZURE)),
    ]));
    assert_eq!(answers(&p), (Yes, No));
}

#[test]
fn aws_everyone_is_ambiguous_for_saml() {
    let p = policy(allow(json!({"AWS": "*"}), json!("sts:*")));
    assert_eq!(answers(&p), (CantTell, CantTell));
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "Deny", "Principal": {"AWS": ["*"]}, "Action": "sts:AssumeRoleWithSAML"},
    ]));
    assert_eq!(answers(&p), (CantTell, No));
    // ... but an undecidable allow does not matter where another allow decides.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        allow(json!({"AWS": "*"}), json!("sts:*")),
    ]));
    assert_eq!(answers(&p), (Yes, CantTell));
}

#[test]
fn a_provider_that_matches_only_without_case_is_cant_tell() {
    let p = policy(saml_allow(json!(
        "arn:aws:iam::123456789012:saml-provider/azuread"
    )));
    assert_eq!(answers(&p), (CantTell, No));
}

#[test]
fn non_saml_principals_and_other_partitions() {
    let p = policy(json!([
        allow(
            json!({"Federated": ["cognito-identity.amazonaws.com", AZURE]}),
            json!("sts:*")
        ),
        allow(
            json!({"Service": "ec2.amazonaws.com"}),
            json!("sts:AssumeRole")
        ),
        allow(
            json!({"Federated": "accounts.google.com"}),
            json!("sts:AssumeRoleWithWebIdentity")
        ),
    ]));
    assert_eq!(answers(&p), (Yes, No));
    let gov = "arn:aws-us-gov:iam::123456789012:saml-provider/AzureAD";
    let got = evaluate(
        &policy(saml_allow(json!(gov))).to_string(),
        &[arn(gov), arn(AZURE)],
        &Audiences::default(),
    );
    assert_eq!(got.providers[0].answer, Yes);
    assert_eq!(got.providers[1].answer, No);
}

#[test]
fn a_malformed_statement_holds_only_what_it_may_concern() {
    // A broken statement about another action changes nothing.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"},
    ]));
    assert_eq!(answers(&p), (Yes, No));
    // One that may concern SAML makes only that unknown: an allow elsewhere still decides.
    let p = policy(json!([
        saml_allow(json!(AZURE)),
        {"Effect": "allow", "Principal": {"Federated": OKTA}, "Action": "sts:*"},
    ]));
    let got = ask(&p);
    assert_eq!(got.providers[0].answer, Yes);
    assert_eq!(got.providers[1].answer, CantTell);
    assert!(
        got.providers[1].reason.contains("Effect \"allow\""),
        "{}",
        got.providers[1].reason
    );
    // A statement that is not an object could be anything.
    let p = policy(json!([saml_allow(json!(AZURE)), 7]));
    assert_eq!(answers(&p), (CantTell, CantTell));
}

#[test]
fn an_unreadable_document_is_cant_tell_for_every_provider_naming_why() {
    for (document, expected) in [
        (
            "%7B%22Statement%22%zz".to_owned(),
            "invalid percent-encoding",
        ),
        ("%7B%FF%7D".to_owned(), "not valid UTF-8"),
        (
            r#"{"Statement": ["#.to_owned(),
            "not valid JSON (line 1, column 15)",
        ),
        ("%5B%5D".to_owned(), "an array, expected a JSON object"),
        (
            json!({"Version": "2012-10-17"}).to_string(),
            "has no Statement",
        ),
        (
            json!({"Statement": "Allow"}).to_string(),
            "Statement is a string",
        ),
    ] {
        let got = evaluate(&document, &[arn(AZURE)], &Audiences::default());
        let p = &got.providers[0];
        assert_eq!(p.answer, CantTell, "{document}");
        assert!(p.reason.contains(expected), "{document}: {}", p.reason);
        assert!(got.mentions_saml);
        assert!(!p.reason.contains('\n'));
    }
}

#[test]
fn each_answer_explains_itself_statement_by_statement() {
    let p = policy(json!([
        with_condition(saml_allow(json!(AZURE)), json!({"StringEquals": {"SAML:aud": GLOBAL}})),
        {"Sid": "NoOkta", "Effect": "Deny", "Principal": {"Federated": OKTA}, "Action": "sts:*"},
    ]));
    let got = azure(&p);
    assert_eq!(got.steps.len(), 2);
    assert!(
        got.steps[0]
            .starts_with("statement 0 (Allow): applies at https://signin.aws.amazon.com/saml;"),
        "{:?}",
        got.steps
    );
    assert!(
        got.steps[1].starts_with("statement 1 (Sid \"NoOkta\") (Deny): does not apply"),
        "{:?}",
        got.steps
    );
}

#[test]
fn audiences_are_checked_and_an_explicit_list_is_exact() {
    assert!(Audiences::new(Vec::new()).is_err());
    assert!(Audiences::new(vec!["signin.aws.amazon.com/saml".into()]).is_err());
    assert!(Audiences::new(vec!["https://a b".into()]).is_err());
    let only_global = Audiences::new(vec![GLOBAL.into()]).unwrap();
    let p = policy(with_condition(
        saml_allow(json!(AZURE)),
        json!({"StringEquals": {"SAML:aud": "https://eu-west-1.signin.aws.amazon.com/saml"}}),
    ));
    let got = evaluate(&p.to_string(), &[arn(AZURE)], &only_global);
    assert_eq!(got.providers[0].answer, No);
    assert_eq!(Audiences::default().to_string(), DEFAULT_AUDIENCES);
    assert_eq!(Audiences::default().entries().len(), 6);
}

#[test]
fn glob_follows_iam_rules() {
    assert!(glob("a*b*c", "axxbyyc", false));
    assert!(glob("a*", "a", false));
    assert!(glob("**", "", false));
    assert!(!glob("a?", "a", false));
    assert!(!glob("a*b", "axxbc", false));
    assert!(!glob("", "a", false));
    assert!(glob("A*", "abc", true));
    assert!(!glob("A*", "abc", false));
    // `?` is one character, not one byte; case folding is ASCII only.
    assert!(glob("r?le/x", "rôle/x", false));
    assert!(!glob("r??le/x", "rôle/x", false));
    assert!(glob("*/Ä*", "role/Äb", true));
    assert!(!glob("*/ä*", "role/Äb", true));
    assert!(glob("STS:Assume*", "sts:assumerolewithsaml", true));
}

/// JSON-ish values biased towards the words a trust policy uses.
fn json_ish() -> impl Strategy<Value = Value> {
    crate::test_support::json_biased(
        &[
            "Statement",
            "Effect",
            "Action",
            "NotAction",
            "Principal",
            "NotPrincipal",
            "Federated",
            "AWS",
            "Condition",
            "Sid",
            "StringEquals",
            "SAML:aud",
        ],
        &[
            "Allow",
            "Deny",
            "*",
            "sts:*",
            "sts:AssumeRoleWithSAML",
            AZURE,
            OKTA,
            GLOBAL,
            "cognito-identity.amazonaws.com",
        ],
    )
}

fn string_or_list(
    word: impl Strategy<Value = &'static str> + Clone,
) -> impl Strategy<Value = Value> {
    prop_oneof![
        word.clone().prop_map(Value::from),
        prop::collection::vec(word, 0..3).prop_map(Value::from),
    ]
}

/// Statements close to real ones, so that many documents parse and some grant providers.
fn statement_ish() -> impl Strategy<Value = Value> {
    let effect = prop_oneof![4 => Just(json!("Allow")), 2 => Just(json!("Deny")), 1 => json_ish()];
    let action_word = prop_oneof![
        Just("sts:AssumeRoleWithSAML"),
        Just("sts:*"),
        Just("*"),
        Just("sts:AssumeRole"),
        Just("iam:*"),
    ];
    let federated_word = prop_oneof![
        3 => Just(AZURE),
        3 => Just(OKTA),
        1 => Just("*"),
        1 => Just("accounts.google.com"),
        1 => Just("arn:aws:iam::123456789012:saml-provider/*"),
    ];
    let principal = prop_oneof![
        4 => string_or_list(federated_word).prop_map(|f| json!({"Federated": f})),
        1 => Just(json!("*")),
        1 => Just(json!({"Service": "ec2.amazonaws.com"})),
        1 => json_ish(),
    ];
    let condition = prop_oneof![
        3 => Just(None),
        2 => Just(Some(json!({"StringEquals": {"SAML:aud": GLOBAL}}))),
        1 => Just(Some(json!({"StringNotEquals": {"SAML:aud": GLOBAL}}))),
        1 => Just(Some(json!({"StringLike": {"SAML:aud": "https://*.example.com/saml"}}))),
        1 => Just(Some(json!({"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}))),
        1 => json_ish().prop_map(Some),
    ];
    let action_key = prop_oneof![4 => Just("Action"), 1 => Just("NotAction")];
    let principal_key = prop_oneof![4 => Just("Principal"), 1 => Just("NotPrincipal")];
    (
        effect,
        action_key,
        string_or_list(action_word),
        principal_key,
        principal,
        condition,
    )
        .prop_map(
            |(effect, action_key, action, principal_key, principal, condition)| {
                let mut statement = json!({"Effect": effect});
                statement[action_key] = action;
                statement[principal_key] = principal;
                if let Some(condition) = condition {
                    statement["Condition"] = condition;
                }
                statement
            },
        )
}

fn statements_ish() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(prop_oneof![12 => statement_ish(), 1 => json_ish()], 0..4)
}

/// Documents from free-form JSON to near-real policies.
fn policy_ish() -> impl Strategy<Value = Value> {
    prop_oneof![
        json_ish(),
        json_ish().prop_map(policy),
        statement_ish().prop_map(policy),
        statements_ish().prop_map(|s| policy(Value::Array(s))),
    ]
}

proptest! {
    #[test]
    fn never_panics_on_arbitrary_text(text in ".*") {
        let got = evaluate(&text, &[arn(AZURE)], &Audiences::default());
        prop_assert_eq!(got.providers.len(), 1);
    }

    #[test]
    fn raw_and_encoded_forms_give_the_same_answers(value in policy_ish()) {
        let raw = value.to_string();
        let a = evaluate(&raw, &[arn(AZURE), arn(OKTA)], &Audiences::default());
        let b = evaluate(&encode(&raw), &[arn(AZURE), arn(OKTA)], &Audiences::default());
        prop_assert_eq!(&a, &b);
        for p in &a.providers {
            prop_assert!(!p.reason.contains('\n'), "{}", p.reason);
            // A yes needs an allow that covers the provider.
            if p.answer == Yes {
                prop_assert!(p.named, "{raw}: {p:?}");
            }
        }
    }

    #[test]
    fn an_unconditional_deny_of_everyone_always_makes_a_no(mut statements in statements_ish()) {
        statements.push(json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRoleWithSAML"}));
        let got = ask(&policy(Value::Array(statements)));
        for p in &got.providers {
            prop_assert_eq!(p.answer, No, "{:?}", p);
        }
    }

    #[test]
    fn a_statement_about_other_actions_never_changes_an_answer(statements in statements_ish()) {
        let before = ask(&policy(Value::Array(statements.clone())));
        let mut more = statements;
        more.push(json!({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole"}));
        more.push(json!({"Effect": "Allow", "NotPrincipal": {"Service": "x"}, "Action": "iam:*"}));
        let after = ask(&policy(Value::Array(more)));
        let answers = |e: &Evaluation| e.providers.iter().map(|p| p.answer).collect::<Vec<_>>();
        prop_assert_eq!(answers(&before), answers(&after));
    }
}
