//! Consents as the clinic's system makes them (`client consent create|send|revoke`).

use http::Method;
use medgate_client::ClientError;
use serde_json::{json, Value};

use super::Clinic;

/// `/api/v1/consents/{id}{suffix}`.
pub fn consent_path(id: &str, suffix: &str) -> String {
    format!("/api/v1/consents/{}{suffix}", urlencoding::encode(id))
}

/// The activation code of a send answer (the account must be new or not activated).
pub fn code(answer: &Value) -> String {
    answer["patient_account"]["activation_code"]
        .as_str()
        .unwrap_or_else(|| panic!("no activation code in {answer}"))
        .to_owned()
}

impl Clinic {
    /// `POST /api/v1/consents` for the patient's documents (purpose "konsultacja").
    pub async fn try_create_consent(
        &self,
        patient: &str,
        from: &str,
        to: &str,
        recipient: &str,
        documents: &[&str],
    ) -> Result<Value, ClientError> {
        self.client
            .send_json(
                Method::POST,
                "/api/v1/consents",
                &json!({
                    "patient": { "extension": patient },
                    "recipient": recipient,
                    "purpose": "konsultacja",
                    "from": from,
                    "to": to,
                    "documents": documents,
                }),
            )
            .await
    }

    /// A draft consent; its id.
    pub async fn create_consent(
        &self,
        patient: &str,
        from: &str,
        to: &str,
        recipient: &str,
        documents: &[&str],
    ) -> String {
        let answer = self
            .try_create_consent(patient, from, to, recipient, documents)
            .await
            .unwrap();
        assert_eq!(answer["consent"]["status"], "draft", "{answer}");
        answer["consent"]["id"].as_str().unwrap().to_owned()
    }

    /// `POST /api/v1/consents/{id}/send|revoke`.
    pub async fn consent_action(&self, id: &str, action: &str) -> Result<Value, ClientError> {
        self.client
            .send(Method::POST, &consent_path(id, &format!("/{action}")), None)
            .await?
            .json()
    }

    /// Sends a consent; the answer (with the patient's account and its code).
    pub async fn send_consent(&self, id: &str) -> Value {
        self.consent_action(id, "send").await.unwrap()
    }

    pub async fn revoke_consent(&self, id: &str) {
        let answer = self.consent_action(id, "revoke").await.unwrap();
        assert_eq!(answer["consent"]["status"], "revoked", "{answer}");
    }
}
