//! `GET /fhir/metadata`: the CapabilityStatement FHIR clients read first — the resource types
//! the service keeps, their interactions, search parameters and operations. Needs no
//! certificate or session (it says nothing about patients).

use axum::http::StatusCode;
use axum::response::Response;
use medgate_clinical::ResourceType;
use serde_json::{json, Value};

use super::fhir;

/// The interactions and operations of a type.
fn resource(kind: ResourceType) -> Value {
    let interactions: &[&str] = match kind {
        ResourceType::Binary => &["read"],
        ResourceType::Encounter => &[
            "create",
            "read",
            "update",
            "search-type",
            "history-instance",
        ],
        ResourceType::DocumentReference | ResourceType::ServiceRequest => {
            &["create", "read", "search-type", "history-instance"]
        }
        _ => &[
            "create",
            "read",
            "update",
            "delete",
            "search-type",
            "history-instance",
        ],
    };
    let mut entry = json!({
        "type": kind.as_str(),
        "interaction": interactions.iter().map(|code| json!({ "code": code })).collect::<Vec<_>>(),
        "versioning": "versioned",
        "readHistory": true,
    });
    if kind == ResourceType::DocumentReference {
        // A submission identifier makes a retried submission answer the first one.
        entry["conditionalCreate"] = json!(true);
    }
    if kind != ResourceType::Binary {
        let mut parameters = vec![
            json!({ "name": "patient", "type": "reference", "documentation": "Patient/<TAJ> or the TAJ" }),
        ];
        if kind == ResourceType::ServiceRequest {
            parameters.push(json!({ "name": "_id", "type": "token" }));
        }
        entry["searchParam"] = Value::Array(parameters);
    }
    let operations: &[&str] = match kind {
        ResourceType::Encounter => &["close"],
        ResourceType::ServiceRequest => &["consume", "cancel"],
        _ => &[],
    };
    if !operations.is_empty() {
        entry["operation"] = Value::Array(
            operations
                .iter()
                .map(|name| {
                    json!({
                        "name": name,
                        "definition": format!("https://medgate.invalid/fhir/OperationDefinition/{}-{name}", kind.as_str())
                    })
                })
                .collect(),
        );
    }
    entry
}

/// `GET /fhir/metadata`.
pub async fn statement() -> Response {
    let resources: Vec<Value> = ResourceType::ALL
        .into_iter()
        .filter(|kind| *kind != ResourceType::Consent)
        .map(resource)
        .collect();
    let statement = json!({
        "resourceType": "CapabilityStatement",
        "status": "active",
        "date": "2026-12-03",
        "publisher": "medgate",
        "kind": "instance",
        "software": { "name": "medgate clinical record service", "version": env!("CARGO_PKG_VERSION") },
        "implementation": { "description": "The national clinical record service (Hungary)" },
        "fhirVersion": "4.0.1",
        "format": ["application/fhir+json"],
        "rest": [{
            "mode": "server",
            "documentation": "Mutual TLS with an institution certificate; writes signed (RFC 9421); a practitioner's session from POST /fhir/$login as Authorization: Bearer.",
            "resource": resources
        }]
    });
    fhir(StatusCode::OK, &statement)
}
