//! setup: `fedsync setup`, first-time configuration — asks (or takes from flags and `FEDSYNC_*`
//! variables) the answers sync needs, checks each, proves them against Entra and AWS, then
//! writes exactly what `fedsync sync` reads: the SSM parameters under the prefix and the
//! credential's Secrets Manager secret; and it renders `cfn/saml-roles.yaml` with the real SAML
//! metadata and the list of child accounts for the StackSets.
//!
//! - [`answers`]: single answers checked on their own (metadata file, app manifest, credential).
//! - [`draft`]: all answers, what is missing, and the check with sync's own parsers.
//! - [`prove`]: the answers work (token, service principal, Organization, bucket).
//! - [`outbound`]: the account's outbound identity federation (`credential aws-federation`).
//! - [`render`]: the trimmed metadata, the rendered template, the account list (pure).
//! - [`store`]: the writes, listed first, made in an order a rerun repairs.
//! - [`prompt`]: the interactive questions on a terminal.
//! - [`flow`]: one run, from a draft to the writes.
//!
//! It never prints a secret: the credential is `****` in every listing and log.

pub mod answers;
pub mod draft;
pub mod flow;
pub mod outbound;
pub mod prompt;
pub mod prove;
pub mod render;
pub mod store;
