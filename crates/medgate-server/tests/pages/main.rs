//! The staff desks' pages (`/admin`, `/operator`) in process, without a browser: one test
//! binary, a module per page group, on the shared harness of `tests/support`.

#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../support/mod.rs"]
mod support;

mod archive;
mod certificates;
mod consents;
mod dates;
mod operator;
mod signin;
