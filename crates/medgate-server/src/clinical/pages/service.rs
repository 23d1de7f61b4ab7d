//! The node's calls to the clinical record service for a practitioner: the account's
//! institution credentials opened from the store (the keystore re-encrypted under the
//! node's credentials key when the administrator saved the settings), the client library's
//! `ClinicalClient` over them, and its failures sorted into what the desk does about them.

use std::path::Path;
use std::time::Duration;

use medgate_client::clinical::{
    service_ca_from_bytes, ClinicalClient, ClinicalClientError, ClinicalOptions, CredentialsError,
    InstitutionCredentials, Session,
};
use medgate_pki::Password;
use medgate_storage::{ClinicalConnection, DeskSession};
use medgate_web::error::ApiError;
use medgate_web::AppState;

/// How the desk waits for the service: a page should not hang, and a lost answer of a
/// safe call is tried once more.
const OPTIONS: ClinicalOptions = ClinicalOptions {
    timeout: Duration::from_secs(10),
    attempts: 2,
    pause: Duration::from_millis(300),
};

/// Why a call to the service did not give its answer.
pub enum Failure {
    /// The practitioner's service session is over: sign in again.
    SessionEnded,
    /// The service refused, is down or slow, or the stored credentials cannot be used now:
    /// a sentence for the page (nothing of a key or token in it).
    Service { status: axum::http::StatusCode, text: String },
    /// A failure of ours (the store, the key file).
    Ours(ApiError),
}

impl From<ClinicalClientError> for Failure {
    fn from(error: ClinicalClientError) -> Self {
        use axum::http::StatusCode;
        let status = match &error {
            ClinicalClientError::SessionEnded { .. } => return Failure::SessionEnded,
            ClinicalClientError::Refused { status, .. } => {
                StatusCode::from_u16(*status).unwrap_or(StatusCode::BAD_GATEWAY)
            }
            ClinicalClientError::Setup(_) => StatusCode::BAD_REQUEST,
            ClinicalClientError::Timeout { .. } => StatusCode::GATEWAY_TIMEOUT,
            _ => StatusCode::BAD_GATEWAY,
        };
        Failure::Service {
            status,
            text: error.to_string(),
        }
    }
}

impl From<ApiError> for Failure {
    fn from(error: ApiError) -> Self {
        Failure::Ours(error)
    }
}

/// The client of the account's institution: its keystore opened with the node's
/// credentials key and checked again (an expired certificate is named), on the blocking
/// pool.
pub async fn client(state: &AppState, connection: &ClinicalConnection) -> Result<ClinicalClient, Failure> {
    let keystore = pem::parse(&connection.keystore_pem)
        .map_err(|e| ApiError::internal("reading the stored institution keystore", &e))?;
    let ca_pem = connection.service_ca_pem.clone().into_bytes();
    let key_file = state.node.credentials_key_file.clone();
    let institution = connection.institution.clone();
    let opened = tokio::task::spawn_blocking(move || {
        let stored = Path::new("the stored institution keystore");
        let ca = service_ca_from_bytes(ca_pem, Path::new("the stored service CA"))?;
        let node_key = Password::from_file(&key_file)
            .map_err(|e| CredentialsError::Keystore(e.to_string()))?;
        InstitutionCredentials::open(
            keystore.contents(),
            stored,
            &node_key,
            ca,
            Path::new("the stored service CA"),
            &institution,
            medgate_web::now(),
        )
    })
    .await
    .map_err(|e| ApiError::internal("opening the institution keystore", &e))?;
    let credentials = match opened {
        Ok(credentials) => credentials,
        Err(error @ (CredentialsError::Expired { .. } | CredentialsError::NotYetValid { .. })) => {
            return Err(Failure::Service {
                status: axum::http::StatusCode::CONFLICT,
                text: format!("{error}; the administrator sets up a new institution certificate on the clinical service page"),
            })
        }
        Err(error) => {
            return Err(ApiError::internal("opening the institution keystore", &error).into())
        }
    };
    let url = url::Url::parse(&connection.service_url)
        .map_err(|e| ApiError::internal("the stored service URL", &e))?;
    Ok(ClinicalClient::new(&url, credentials, OPTIONS)?)
}

/// The practitioner's service session as the desk keeps it.
pub fn session(desk: &DeskSession, connection: &ClinicalConnection) -> Session {
    Session::resume(
        desk.service_token.clone(),
        desk.user_name.clone(),
        connection.institution.clone(),
        desk.expires_at,
    )
}
