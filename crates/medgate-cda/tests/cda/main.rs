//! Integration tests of medgate-cda through its public interface: the PIK samples and our
//! fixtures parse, bad input is refused with the line and element named, rendering is
//! sanitised, and the XSL stylesheet renders the same view under xsltproc.

// A test that meets an unexpected value fails by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod errors;
mod export;
mod render;
mod samples;
mod support;
