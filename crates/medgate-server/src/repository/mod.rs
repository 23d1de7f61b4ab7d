//! The repository module (SPEC §§1–7): the API clinic systems reach with mutual TLS and
//! signed requests (`api`), and the tenant administrator's desk (`pages`). The domain it
//! calls lives in the `medgate-repository` crate; what every module shares in `medgate-web`.

pub mod api;
pub mod pages;
