//! End-to-end tests of the repository: the real `medgate serve` on a temporary data folder
//! (SQLite, and PostgreSQL where reachable), driven by the real `medgate client`.

pub mod harness;

mod account;
mod audit;
mod agent;
mod crash;
mod connect_check;
mod consents;
mod documents;
mod fhir;
mod national;
mod organisation;
pub mod portal;
mod python_client;
