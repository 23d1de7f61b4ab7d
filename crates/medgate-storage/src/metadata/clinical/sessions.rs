//! Practitioner sessions.

use super::*;

/// A practitioner's session at the service: for one institution, until `expires_at`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PractitionerSession {
    /// SHA-256 of the session token (the token itself is never stored).
    pub token_hash: Sha256Digest,
    pub user_name: String,
    pub institution: InstitutionId,
    pub created_at: OffsetDateTime,
    pub expires_at: OffsetDateTime,
}

impl Metadata {
    /// Stores a new session; also removes sessions that ended before its start.
    pub async fn create_practitioner_session(
        &self,
        session: &PractitionerSession,
    ) -> Result<(), ClinicalStoreError> {
        const OPERATION: &str = "open a practitioner session";
        self.write_one(
            OPERATION,
            "DELETE FROM clinical_sessions WHERE expires_at < $1",
            vec![to_unix(session.created_at).into()],
        )
        .await?;
        let binds = vec![
            Value::Text(session.token_hash.to_hex()),
            Value::Text(session.user_name.clone()),
            Value::Text(session.institution.as_str().to_owned()),
            Value::Int(to_unix(session.created_at)),
            Value::Int(to_unix(session.expires_at)),
        ];
        let parent = format!("{} or {}", session.user_name, session.institution);
        self.clinical_write(OPERATION, move |connection| {
            Box::pin(async move {
                insert_on(
                    connection,
                    OPERATION,
                    "INSERT INTO clinical_sessions (token_hash, user_name, institution_id, \
                     created_at, expires_at) VALUES ($1, $2, $3, $4, $5)",
                    binds,
                    ("session", "(token)".to_owned()),
                    ("practitioner or institution", parent),
                )
                .await
            })
        })
        .await
    }

    /// The session with this token hash, expired or not (the caller compares `expires_at`
    /// with its clock, so an expired session gets its own answer).
    pub async fn practitioner_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<Option<PractitionerSession>, MetadataError> {
        sqlx::query(
            "SELECT token_hash, user_name, institution_id, created_at, expires_at \
             FROM clinical_sessions WHERE token_hash = $1",
        )
        .bind(token_hash.to_hex())
        .fetch_optional(self.pool())
        .await
        .map_err(MetadataError::database("read a practitioner session"))?
        .map(|row| {
            Ok(PractitionerSession {
                token_hash: parsed_column(&row, "token_hash", Sha256Digest::parse_hex)?,
                user_name: column(&row, "user_name")?,
                institution: parsed_column(&row, "institution_id", InstitutionId::parse)?,
                created_at: from_unix("created_at", column(&row, "created_at")?)?,
                expires_at: from_unix("expires_at", column(&row, "expires_at")?)?,
            })
        })
        .transpose()
    }

    /// Ends a session (sign-out); nothing happens if there is none.
    pub async fn delete_practitioner_session(
        &self,
        token_hash: &Sha256Digest,
    ) -> Result<(), MetadataError> {
        self.write_one(
            "end a practitioner session",
            "DELETE FROM clinical_sessions WHERE token_hash = $1",
            vec![token_hash.to_hex().into()],
        )
        .await?;
        Ok(())
    }
}
