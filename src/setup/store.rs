//! store: what `fedsync setup` writes, as a list made before anything is written — the
//! credential's secret, the SSM parameters under the prefix, the objects for the StackSets — and
//! the writes themselves, in an order that a rerun always repairs.
//!
//! Order: outbound identity federation enabled in the account first, when the admin agreed to it
//! (with `credential aws-federation`; nothing else then depends on a write that may not happen),
//! then the secret (created, or a new version put), then each parameter with `Overwrite`,
//! `credentials-secret` among them (so no parameter ever names a secret that does not exist yet),
//! then the parameters a federated setup no longer uses are deleted (`credentials-secret`: the
//! secret itself stays, for its owner to delete), then the S3 objects. Each write replaces a
//! whole value, so a run stopped midway (Ctrl-C, a failure) leaves old and new values side by
//! side, never a half-written one, and the next run overwrites them all. [`Writes::describe`] prints the list with the secret as `****`.

use aws_config::SdkConfig;
use aws_sdk_ssm::types::ParameterType;
use tracing::info;

use super::answers::NewCredential;
use crate::aws::error::{Cause, cause};

/// One SSM parameter to write.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Parameter {
    /// The full name: prefix and setting name.
    pub name: String,
    pub value: String,
    /// SecureString (encrypted with the KMS key when one is given).
    pub secure: bool,
}

/// One S3 object to write.
#[derive(Clone, Debug)]
pub struct Object {
    pub key: String,
    pub body: String,
    pub content_type: &'static str,
}

/// Everything setup writes, in order.
#[derive(Debug)]
pub struct Writes {
    /// `iam:EnableOutboundWebIdentityFederation` in this account, first.
    pub enable_outbound_federation: Option<String>,
    /// The secret's name and the new credential; none keeps the secret as it is.
    pub secret: Option<(String, NewCredential)>,
    pub parameters: Vec<Parameter>,
    /// Full names of SSM parameters to delete after the others are written.
    pub deleted_parameters: Vec<String>,
    pub bucket: String,
    pub objects: Vec<Object>,
    /// For SecureString parameters and a newly created secret.
    pub kms_key: Option<String>,
}

/// A write failed; what came before it stays written, and a rerun overwrites it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("cannot write secret {name}")]
    Secret { name: String, source: Cause },
    #[error("cannot enable AWS outbound identity federation in account {account}: {message}")]
    Federation { account: String, message: String },
    #[error("cannot write SSM parameter {name}")]
    Parameter { name: String, source: Cause },
    #[error("cannot write s3://{bucket}/{key}")]
    Object {
        bucket: String,
        key: String,
        source: Cause,
    },
}

impl Writes {
    /// The list, one write per line, secrets as `****`.
    pub fn describe(&self) -> String {
        let mut out = String::new();
        if let Some(account) = &self.enable_outbound_federation {
            out.push_str(&format!(
                "iam      enable outbound identity federation in account {account} (iam:EnableOutboundWebIdentityFederation)\n"
            ));
        }
        if let Some((name, credential)) = &self.secret {
            out.push_str(&format!(
                "secret   {name} = **** ({} JSON)\n",
                credential.kind
            ));
        }
        for p in &self.parameters {
            let value = if p.secure { "****" } else { &p.value };
            let kind = if p.secure { " (SecureString)" } else { "" };
            out.push_str(&format!("ssm      {} = {value}{kind}\n", p.name));
        }
        for name in &self.deleted_parameters {
            out.push_str(&format!(
                "ssm      {name} deleted (credential aws-federation uses no secret; the secret itself is left as it is)\n"
            ));
        }
        for o in &self.objects {
            out.push_str(&format!(
                "s3       s3://{}/{} ({} bytes)\n",
                self.bucket,
                o.key,
                o.body.len()
            ));
        }
        out
    }

    /// Writes everything, in order; stops at the first failure. The account's issuer URL
    /// when it enabled outbound identity federation.
    pub async fn apply(
        &self,
        sdk: &SdkConfig,
        s3: &aws_sdk_s3::Client,
    ) -> Result<Option<String>, StoreError> {
        let mut issuer = None;
        if let Some(account) = &self.enable_outbound_federation {
            let iam = aws_sdk_iam::Client::new(sdk);
            issuer = Some(super::outbound::enable(&iam).await.map_err(|message| {
                StoreError::Federation {
                    account: account.clone(),
                    message,
                }
            })?);
            info!(account = %account, "enabled outbound identity federation");
        }
        if let Some((name, credential)) = &self.secret {
            put_secret(sdk, name, credential, self.kms_key.as_deref()).await?;
            info!(secret = %name, "wrote the credential");
        }
        let ssm = aws_sdk_ssm::Client::new(sdk);
        for p in &self.parameters {
            let mut put = ssm
                .put_parameter()
                .name(&p.name)
                .value(&p.value)
                .overwrite(true)
                .r#type(if p.secure {
                    ParameterType::SecureString
                } else {
                    ParameterType::String
                });
            if p.secure {
                put = put.set_key_id(self.kms_key.clone());
            }
            put.send().await.map_err(|e| StoreError::Parameter {
                name: p.name.clone(),
                source: cause(&e),
            })?;
        }
        info!(
            parameters = self.parameters.len(),
            "wrote the SSM parameters"
        );
        for name in &self.deleted_parameters {
            match ssm.delete_parameter().name(name).send().await {
                Ok(_) => {}
                Err(e)
                    if e.as_service_error()
                        .is_some_and(|s| s.is_parameter_not_found()) => {}
                Err(e) => {
                    return Err(StoreError::Parameter {
                        name: name.clone(),
                        source: cause(&e),
                    });
                }
            }
        }
        for o in &self.objects {
            s3.put_object()
                .bucket(&self.bucket)
                .key(&o.key)
                .content_type(o.content_type)
                .body(o.body.clone().into_bytes().into())
                .send()
                .await
                .map_err(|e| StoreError::Object {
                    bucket: self.bucket.clone(),
                    key: o.key.clone(),
                    source: cause(&e),
                })?;
        }
        Ok(issuer)
    }
}

/// `PutSecretValue` on an existing secret, else `CreateSecret` (with the KMS key).
async fn put_secret(
    sdk: &SdkConfig,
    name: &str,
    credential: &NewCredential,
    kms_key: Option<&str>,
) -> Result<(), StoreError> {
    let client = aws_sdk_secretsmanager::Client::new(sdk);
    let failed = |source: Cause| StoreError::Secret {
        name: name.to_owned(),
        source,
    };
    match client
        .put_secret_value()
        .secret_id(name)
        .secret_string(credential.expose_json())
        .send()
        .await
    {
        Ok(_) => Ok(()),
        Err(e)
            if e.as_service_error()
                .is_some_and(|s| s.is_resource_not_found_exception()) =>
        {
            client
                .create_secret()
                .name(name)
                .description("fedsync: the sync app's Entra credential (written by fedsync setup)")
                .set_kms_key_id(kms_key.map(str::to_owned))
                .secret_string(credential.expose_json())
                .send()
                .await
                .map(|_| ())
                .map_err(|e| failed(cause(&e)))
        }
        Err(e) => Err(failed(cause(&e))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use secrecy::SecretString;

    #[test]
    fn the_description_never_shows_a_secret() {
        let writes = Writes {
            enable_outbound_federation: None,
            deleted_parameters: vec![],
            secret: Some((
                "fedsync/entra-credentials".into(),
                NewCredential::secret(SecretString::from("hunter2-secret")).unwrap(),
            )),
            parameters: vec![
                Parameter {
                    name: "/p/tenant-id".into(),
                    value: "contoso.onmicrosoft.com".into(),
                    secure: false,
                },
                Parameter {
                    name: "/p/external-id".into(),
                    value: "shared-external".into(),
                    secure: true,
                },
            ],
            bucket: "b".into(),
            objects: vec![],
            kms_key: None,
        };
        let text = writes.describe();
        assert!(
            !text.contains("hunter2") && !text.contains("shared-external"),
            "{text}"
        );
        assert!(text.contains("ssm      /p/tenant-id = contoso.onmicrosoft.com\n"));
        assert!(text.contains("secret   fedsync/entra-credentials = **** (client secret JSON)"));
    }
}
