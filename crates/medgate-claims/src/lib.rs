//! The claims registers of Russian compulsory medical insurance (OMS), without HTTP: register
//! packages and their names (`names`, `package`), streamed reading of their windows-1251 XML
//! (`xml`), the format-logical control whose rules are the federal catalogues read as data
//! (`flk`), the NSI reference books (`nsi`), the `V` protocol (`protocol`) and a generator of
//! realistic packages (`generate`); the fund's service over the node's store: its operator's
//! registry and the MO staff's logins (`fund`), the packages uploaded and their control
//! (`intake`).

pub mod error;
pub mod flk;
pub mod fund;
pub mod generate;
pub mod intake;
pub mod names;
pub mod nsi;
pub mod package;
pub mod protocol;
pub mod xml;

pub use error::{ClaimsError, FundError};
pub use flk::catalogue::Catalogue;
pub use flk::{Finding, RuleCounts};
pub use names::{FileKind, Party, Period, RegisterFileName};
pub use nsi::Nsi;
pub use package::{check_package, Report, Settings};
