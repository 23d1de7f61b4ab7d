//! Integration tests of the `medgate` binary: each module drives one group of commands as a
//! user would and checks the results with independent peers (OpenSSL, Java keytool, Python
//! `cryptography`) wherever one exists.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;
mod browser;

mod ids;
mod csr;
mod ca;
mod inspect;
mod check;
mod keystore;
mod expiring;
mod signature;
mod gost;
mod node_folder;
mod help;
mod demo;
mod claims;
mod claims_signing;
mod claims_documents;
mod claims_nsi;
mod package;

mod repository;
mod web;
