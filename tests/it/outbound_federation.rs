//! The fake AWS outbound identity federation (`examples/outbound-federation/fake.rs`, issue 19)
//! through the AWS SDK, as fedsync and `setup` call it: off until enabled, one issuer per
//! account, tokens whose claims are the caller's role and the audience asked for, signed by the
//! key its issuer's discovery document publishes; and AWS's refusals of a bad request.

use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::Value;

use crate::support::moto::Moto;
use crate::support::org::{self, MANAGEMENT};
use crate::support::outbound_federation::{KEY_ID, OutboundFederation};

const AUDIENCE: &str = "api://AzureADTokenExchange";

#[tokio::test(flavor = "multi_thread")]
async fn federation_is_off_until_enabled_then_has_one_issuer_per_account() {
    let moto = Moto::start();
    let fake = OutboundFederation::start(&moto.url, false);
    let sdk = org::sdk(&fake.url).await;
    let iam = aws_sdk_iam::Client::new(&sdk);
    let sts = aws_sdk_sts::Client::new(&sdk);

    let off = sts
        .get_web_identity_token()
        .audience(AUDIENCE)
        .signing_algorithm("RS256")
        .send()
        .await
        .unwrap_err();
    assert!(
        matches!(
            off.as_service_error(),
            Some(aws_sdk_sts::operation::get_web_identity_token::GetWebIdentityTokenError::OutboundWebIdentityFederationDisabledException(_))
        ),
        "{off:?}"
    );
    let info = iam
        .get_outbound_web_identity_federation_info()
        .send()
        .await
        .unwrap_err();
    assert!(
        info.as_service_error()
            .is_some_and(|e| e.is_feature_disabled_exception()),
        "{info:?}"
    );

    let enabled = iam
        .enable_outbound_web_identity_federation()
        .send()
        .await
        .unwrap();
    let issuer = enabled.issuer_identifier().unwrap().to_owned();
    assert_eq!(issuer, fake.issuer(MANAGEMENT));
    assert!(issuer.starts_with(&format!("{}/", fake.url)), "{issuer}");
    let again = iam
        .enable_outbound_web_identity_federation()
        .send()
        .await
        .unwrap_err();
    assert!(
        again
            .as_service_error()
            .is_some_and(|e| e.is_feature_enabled_exception()),
        "{again:?}"
    );
    let info = iam
        .get_outbound_web_identity_federation_info()
        .send()
        .await
        .unwrap();
    assert_eq!(info.issuer_identifier(), Some(issuer.as_str()));
    assert!(info.jwt_vending_enabled());
    assert_ne!(
        fake.issuer("210987654321"),
        issuer,
        "another account, another issuer"
    );

    // Everything else is moto's.
    let caller = sts.get_caller_identity().send().await.unwrap();
    assert_eq!(caller.account(), Some(MANAGEMENT));

    iam.disable_outbound_web_identity_federation()
        .send()
        .await
        .unwrap();
    assert!(
        sts.get_web_identity_token()
            .audience(AUDIENCE)
            .signing_algorithm("RS256")
            .send()
            .await
            .is_err(),
        "disabled again, no token"
    );
}

/// GETs `url` as JSON.
async fn get_json(url: &str) -> Value {
    let reply = reqwest::get(url).await.unwrap();
    assert_eq!(reply.status(), 200, "{url}");
    reply.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_role_session_s_token_names_its_role_and_verifies_against_the_published_key() {
    let moto = Moto::start();
    let fake = OutboundFederation::start(&moto.url, true);
    let direct = org::sdk(&moto.url).await;
    let role = crate::federation::task_role_session(&direct).await;
    let sdk = role.sdk(&fake.url).await;
    let answer = aws_sdk_sts::Client::new(&sdk)
        .get_web_identity_token()
        .audience(AUDIENCE)
        .audience("api://second")
        .signing_algorithm("RS256")
        .duration_seconds(120)
        .send()
        .await
        .unwrap();
    let jwt = answer.web_identity_token().unwrap();
    assert!(answer.expiration().is_some());

    let issuer = fake.issuer(MANAGEMENT);
    let configuration = get_json(&format!("{issuer}/.well-known/openid-configuration")).await;
    assert_eq!(configuration["issuer"], issuer.as_str());
    let jwks: jsonwebtoken::jwk::JwkSet =
        serde_json::from_value(get_json(configuration["jwks_uri"].as_str().unwrap()).await)
            .unwrap();
    let header = jsonwebtoken::decode_header(jwt).unwrap();
    assert_eq!(header.alg, Algorithm::RS256);
    assert_eq!(header.kid.as_deref(), Some(KEY_ID));
    let key = DecodingKey::from_jwk(jwks.find(KEY_ID).unwrap()).unwrap();
    let mut validation = Validation::new(Algorithm::RS256);
    validation.set_audience(&[AUDIENCE]);
    validation.set_issuer(&[&issuer]);
    let claims = jsonwebtoken::decode::<Value>(jwt, &key, &validation)
        .unwrap()
        .claims;
    assert_eq!(claims["sub"], crate::federation::TASK_ROLE);
    assert_eq!(claims["aud"], serde_json::json!([AUDIENCE, "api://second"]));
    let lifetime = claims["exp"].as_i64().unwrap() - claims["iat"].as_i64().unwrap();
    assert_eq!(lifetime, 120);
    assert!(claims["jti"].is_string() && claims["nbf"].is_i64());

    let issued = fake.issued();
    assert_eq!(issued.len(), 1);
    assert_eq!(issued[0].subject, crate::federation::TASK_ROLE);
    assert_eq!(issued[0].jwt, jwt);

    // An issuer nobody enabled serves nothing.
    let unknown = reqwest::get(format!(
        "{}/.well-known/openid-configuration",
        fake.issuer("210987654321")
    ))
    .await
    .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test(flavor = "multi_thread")]
async fn requests_aws_would_refuse_are_refused() {
    let moto = Moto::start();
    let fake = OutboundFederation::start(&moto.url, true);
    let sts = aws_sdk_sts::Client::new(&org::sdk(&fake.url).await);
    for (algorithm, duration, expected) in [
        ("HS256", 300, "not one of RS256, ES384"),
        ("RS256", 30, "60 to 3600"),
        ("RS256", 3601, "60 to 3600"),
    ] {
        let err = sts
            .get_web_identity_token()
            .audience(AUDIENCE)
            .signing_algorithm(algorithm)
            .duration_seconds(duration)
            .send()
            .await
            .unwrap_err();
        let text = format!("{:?}", err.into_service_error());
        assert!(text.contains(expected), "{algorithm} {duration}: {text}");
    }
    assert!(fake.issued().is_empty());
}
