//! End-to-end tests of the repository: the real `medgate serve` on a temporary data folder
//! (SQLite with content files, and where reachable the scale-out configuration: PostgreSQL
//! with content in S3, a local moto), driven by the real `medgate client`.

pub mod harness;

mod account;
mod clinical;
mod clinical_client;
mod claims_desk;
mod claims_registers_desk;
mod claims_mis;
mod audit;
mod agent;
mod backup;
mod crash;
mod connect_check;
mod consents;
mod documents;
mod fhir;
mod json_output;
mod metrics;
pub mod national;
mod organisation;
pub mod portal;
mod python_client;
mod revocation;
mod schemathesis;
