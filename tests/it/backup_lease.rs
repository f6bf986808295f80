//! Backups and the run lease against moto's S3: keys, SSE-KMS, listing newest first, reading
//! back; one lease holder at a time, renewed, and an expired lease taken over from a run that then
//! finds it lost.

use std::time::Duration;

use fedsync::backup::BackupStore;
use fedsync::lease::{self, LeaseError};
use fedsync::settings::BackupSettings;
use serde_json::json;
use time::macros::datetime;

use crate::support::moto::Moto;
use crate::support::org;

async fn s3_with_bucket(moto: &Moto, bucket: &str) -> (aws_sdk_s3::Client, aws_config::SdkConfig) {
    let sdk = org::sdk(&moto.url).await;
    let s3 = org::s3(&sdk);
    s3.create_bucket()
        .bucket(bucket)
        .send()
        .await
        .expect("create bucket");
    (s3, sdk)
}

#[tokio::test(flavor = "multi_thread")]
async fn backups_are_written_encrypted_listed_newest_first_and_read_back() {
    let moto = Moto::start();
    let (s3, sdk) = s3_with_bucket(&moto, "fedsync-backups").await;
    let key_id = aws_sdk_kms::Client::new(&sdk)
        .create_key()
        .send()
        .await
        .unwrap()
        .key_metadata()
        .unwrap()
        .key_id()
        .to_owned();
    let store = BackupStore::new(
        s3.clone(),
        BackupSettings {
            bucket: "fedsync-backups".into(),
            prefix: "manifests/".into(),
            kms_key: Some(key_id.clone()),
        },
    );
    let first = json!({"id": "sp-1", "appRoles": [{"id": "a"}]});
    let second = json!({"id": "sp-1", "appRoles": []});
    let k1 = store
        .put("sp-1", &first, datetime!(2026-11-28 09:00:00.001 UTC))
        .await
        .unwrap();
    let k2 = store
        .put("sp-1", &second, datetime!(2026-11-28 09:00:00.002 UTC))
        .await
        .unwrap();
    assert_eq!(k1, "manifests/20261128T090000.001Z-sp-1.json");

    let head = s3
        .head_object()
        .bucket("fedsync-backups")
        .key(&k1)
        .send()
        .await
        .unwrap();
    assert_eq!(
        head.server_side_encryption().map(|s| s.as_str()),
        Some("aws:kms")
    );
    assert!(head.ssekms_key_id().unwrap_or_default().contains(&key_id));

    s3.put_object()
        .bucket("fedsync-backups")
        .key("manifests/notes.txt")
        .body(b"x".to_vec().into())
        .send()
        .await
        .unwrap();
    let listed: Vec<String> = store
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.key)
        .collect();
    assert_eq!(
        listed,
        [k2.clone(), k1.clone()],
        "newest first, other objects ignored"
    );
    assert_eq!(store.get(&k1).await.unwrap(), first);

    let again = store
        .put("sp-1", &first, datetime!(2026-11-28 09:00:00.001 UTC))
        .await
        .unwrap_err();
    assert!(
        again.to_string().contains("cannot write the backup"),
        "a backup is never overwritten: {again}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_missing_bucket_is_a_clear_error() {
    let moto = Moto::start();
    let sdk = org::sdk(&moto.url).await;
    let s3 = org::s3(&sdk);
    let store = BackupStore::new(
        s3,
        BackupSettings {
            bucket: "no-such-bucket".into(),
            prefix: "m/".into(),
            kms_key: None,
        },
    );
    let err = store
        .put("sp", &json!({}), datetime!(2026-11-28 09:00:00 UTC))
        .await
        .unwrap_err();
    // The error names the object; its cause is what S3 answered, with S3's code.
    assert_eq!(
        err.to_string(),
        "cannot write the backup s3://no-such-bucket/m/20261128T090000.000Z-sp.json"
    );
    let cause = std::error::Error::source(&err)
        .and_then(|c| c.downcast_ref::<fedsync::error_text::Cause>())
        .expect("S3's answer as the cause");
    assert_eq!(cause.code.as_deref(), Some("NoSuchBucket"));
    assert!(cause.to_string().starts_with("NoSuchBucket: "), "{cause}");
}

#[tokio::test(flavor = "multi_thread")]
async fn one_run_holds_the_lease_and_an_expired_one_is_taken_over() {
    let moto = Moto::start();
    let (s3, _) = s3_with_bucket(&moto, "fedsync-lease").await;
    let key = lease::lease_key("sp-1");
    let hour = Duration::from_secs(3600);
    let now = datetime!(2026-11-28 09:00:00 UTC);
    let mut first = lease::acquire(&s3, "fedsync-lease", &key, "run-1", now, hour)
        .await
        .unwrap();
    first.confirm(&s3).await.expect("still run-1's");

    let refused = lease::acquire(
        &s3,
        "fedsync-lease",
        &key,
        "run-2",
        now + time::Duration::minutes(5),
        hour,
    )
    .await
    .unwrap_err();
    assert!(
        matches!(&refused, LeaseError::Held { holder, .. } if holder == "run-1"),
        "{refused}"
    );
    assert!(refused.to_string().contains("nothing was written"));

    // run-1 renews: the lease now runs an hour from the renewal, and run-1 still holds it.
    let renewed_at = now + time::Duration::minutes(30);
    first.renew(&s3, renewed_at, hour).await.unwrap();
    assert_eq!(first.record.expires_at, renewed_at + hour);
    first
        .confirm(&s3)
        .await
        .expect("still run-1's after renewing");
    let refused = lease::acquire(
        &s3,
        "fedsync-lease",
        &key,
        "run-2",
        now + time::Duration::minutes(61),
        hour,
    )
    .await;
    assert!(refused.is_err(), "a renewed lease is not expired");

    // run-1 stalled: past its renewed expiry, run-3 takes it over.
    let later = renewed_at + time::Duration::minutes(61);
    let third = lease::acquire(&s3, "fedsync-lease", &key, "run-3", later, hour)
        .await
        .unwrap();
    assert_eq!(third.record.holder, "run-3");
    // run-1 comes back: it can neither confirm nor renew, and releasing leaves run-3's lease.
    let lost = first.confirm(&s3).await.unwrap_err();
    assert!(
        matches!(&lost, LeaseError::Lost { now, .. } if now.contains("run-3")),
        "{lost}"
    );
    let lost = first.renew(&s3, later, hour).await.unwrap_err();
    assert!(matches!(lost, LeaseError::Lost { .. }), "{lost}");
    first.release(&s3).await.unwrap();
    assert!(
        lease::acquire(&s3, "fedsync-lease", &key, "run-4", later, hour)
            .await
            .is_err()
    );
    third.release(&s3).await.unwrap();
    lease::acquire(&s3, "fedsync-lease", &key, "run-5", later, hour)
        .await
        .expect("free again");
}
