//! One ACME order with instant-acme: the account (created once, then restored from the
//! cache), an order for the configured domains, each authorization answered by the chosen
//! challenge, then the CSR (a fresh P-256 key) and the certificate chain.

use std::time::Duration;

use instant_acme::{
    Account, AccountCredentials, AuthorizationStatus, ChallengeType, Identifier, NewAccount,
    NewOrder, Order, OrderStatus, RetryPolicy,
};

use super::cache::Cache;
use super::challenges::Challenges;
use super::{AcmeSettings, ChallengeKind};

/// A certificate chain and its key, both PEM, as the CA issued them.
pub(crate) struct Issued {
    pub chain_pem: String,
    pub key_pem: String,
}

/// Why an order failed; the text is logged as is.
pub(crate) type OrderError = String;

fn account_builder(settings: &AcmeSettings) -> Result<instant_acme::AccountBuilder, OrderError> {
    match &settings.directory_ca_file {
        Some(ca) => Account::builder_with_root(ca)
            .map_err(|e| format!("cannot use directory_ca_file {}: {e}", ca.display())),
        None => Account::builder().map_err(|e| format!("cannot set up the ACME client: {e}")),
    }
}

/// The account: restored from the cache, else created (and cached).
async fn account(settings: &AcmeSettings, cache: &Cache) -> Result<Account, OrderError> {
    let file = cache.account_file();
    if let Ok(bytes) = std::fs::read(&file) {
        match serde_json::from_slice::<AccountCredentials>(&bytes) {
            Ok(credentials) => {
                return account_builder(settings)?
                    .from_credentials(credentials)
                    .await
                    .map_err(|e| format!("cannot reach the ACME directory: {e}"));
            }
            Err(e) => {
                tracing::warn!(file = %file.display(), error = %e, "ACME account file unreadable; creating a new account")
            }
        }
    }
    let contact: Vec<String> = settings
        .contact
        .iter()
        .map(|c| format!("mailto:{c}"))
        .collect();
    let contact: Vec<&str> = contact.iter().map(String::as_str).collect();
    let (account, credentials) = account_builder(settings)?
        .create(
            &NewAccount {
                contact: &contact,
                terms_of_service_agreed: true,
                only_return_existing: false,
            },
            settings.directory.clone(),
            None,
        )
        .await
        .map_err(|e| format!("cannot create the ACME account: {e}"))?;
    let json = serde_json::to_vec(&credentials).map_err(|e| e.to_string())?;
    Cache::write(&file, &json, 0o600)
        .map_err(|e| format!("cannot write {}: {e}", file.display()))?;
    tracing::info!(id = account.id(), "ACME account created");
    Ok(account)
}

/// Orders a certificate for every configured domain, answering each challenge through
/// `challenges`; the answers are withdrawn when the order ends.
pub(crate) async fn obtain(
    settings: &AcmeSettings,
    cache: &Cache,
    challenges: &Challenges,
) -> Result<Issued, OrderError> {
    let result = run(settings, cache, challenges).await;
    challenges.clear();
    result
}

async fn run(
    settings: &AcmeSettings,
    cache: &Cache,
    challenges: &Challenges,
) -> Result<Issued, OrderError> {
    let account = account(settings, cache).await?;
    let identifiers: Vec<Identifier> = settings
        .domains
        .iter()
        .map(|d| Identifier::Dns(d.clone()))
        .collect();
    let mut order = account
        .new_order(&NewOrder::new(&identifiers))
        .await
        .map_err(|e| format!("the CA refused the order: {e}"))?;

    let wanted = match settings.challenge {
        ChallengeKind::TlsAlpn01 => ChallengeType::TlsAlpn01,
        ChallengeKind::Http01 => ChallengeType::Http01,
    };
    let mut authorizations = order.authorizations();
    while let Some(authorization) = authorizations.next().await {
        let mut authorization =
            authorization.map_err(|e| format!("cannot read an authorization: {e}"))?;
        match authorization.status {
            AuthorizationStatus::Pending => {}
            AuthorizationStatus::Valid => continue,
            other => return Err(format!("an authorization is {other:?}")),
        }
        let mut challenge = authorization.challenge(wanted.clone()).ok_or_else(|| {
            format!(
                "the CA offers no {} challenge",
                settings.challenge.as_config()
            )
        })?;
        let domain = challenge.identifier().to_string();
        let key_authorization = challenge.key_authorization();
        match settings.challenge {
            ChallengeKind::TlsAlpn01 => challenges
                .open_tls_alpn(&domain, key_authorization.digest().as_ref())
                .map_err(|e| format!("cannot make the TLS-ALPN-01 certificate: {e}"))?,
            ChallengeKind::Http01 => {
                challenges.open_http(&challenge.token, key_authorization.as_str())
            }
        }
        challenge
            .set_ready()
            .await
            .map_err(|e| format!("cannot start the challenge for {domain}: {e}"))?;
    }

    let patience = RetryPolicy::new()
        .initial_delay(Duration::from_millis(250))
        .timeout(Duration::from_secs(120));
    let status = order.poll_ready(&patience).await;
    if !matches!(status, Ok(OrderStatus::Ready)) {
        let why = match status {
            Err(e) => e.to_string(),
            Ok(status) => order
                .state()
                .error
                .as_ref()
                .map(|p| p.to_string())
                .unwrap_or_else(|| format!("the order is {status:?}")),
        };
        // The CA's reason is on each failed challenge (e.g. it could not connect): what an
        // operator needs to fix the ports or the DNS.
        let challenges = challenge_failures(&mut order).await;
        return Err(format!("validation failed: {why}{challenges}"));
    }
    let key_pem = order
        .finalize()
        .await
        .map_err(|e| format!("the CA refused the CSR: {e}"))?;
    let chain_pem = order
        .poll_certificate(&patience)
        .await
        .map_err(|e| format!("the certificate did not come: {e}"))?;
    Ok(Issued { chain_pem, key_pem })
}

/// What the CA said of each failed challenge, as `; DOMAIN: REASON` (empty if it said
/// nothing, or cannot be asked).
async fn challenge_failures(order: &mut Order) -> String {
    let mut reasons = String::new();
    let mut authorizations = order.authorizations();
    while let Some(Ok(mut authorization)) = authorizations.next().await {
        let domain = authorization.identifier().to_string();
        let Ok(state) = authorization.refresh().await else {
            continue;
        };
        for problem in state.challenges.iter().filter_map(|c| c.error.as_ref()) {
            reasons.push_str(&format!("; {domain}: {problem}"));
        }
    }
    reasons
}
