//! medgate's repository server: the HTTPS API that clinic systems reach with mutual TLS and
//! signed requests, over the storage, CDA and PKI libraries. `startup::prepare` builds a
//! node from a [`config::ServerConfig`]; `PreparedServer::serve` runs it.

pub mod audit_checkpoint;
pub mod auth;
pub mod body_guard;
pub mod config;
pub mod error;
pub mod listener;
pub mod organisation;
pub mod registry;
pub mod revocation;
pub mod routes;
pub mod startup;
pub mod state;
pub mod tls;
pub mod web;
