//! The claims registers of Russian compulsory medical insurance (OMS), without HTTP: register
//! packages and their names (`names`, `package`), streamed reading of their windows-1251 XML
//! (`xml`), one file read on a thread of its own while its records are checked on others
//! (`pipeline`), the format-logical control whose rules are the federal catalogues read as data
//! (`flk`), the medico-economic control on the cases that pass it (`mek`), the NSI reference
//! books (`nsi`), the `V` protocol (`protocol`), a generator of realistic packages
//! (`generate`), the registers' workflow (`workflow`) and the MO's three signatures in their
//! fixed order (`signing`), the documents of a package as PDFs: invoice, summary register,
//! register, MEK act (`documents`); the fund's service over the node's store: its operator's
//! registry and the MO staff's logins (`fund`), the packages uploaded and their control
//! (`intake`) with the catalogues and books of the node's data folder (`books`), and the
//! registers formed from accepted cases with their workflow, signatures and documents at the
//! node (`registers`).

pub mod books;
pub mod correct;
pub mod documents;
pub mod error;
pub mod flk;
pub mod fund;
pub mod generate;
pub mod intake;
pub mod mek;
pub mod names;
pub mod nsi;
pub mod package;
mod pipeline;
pub mod protocol;
pub mod registers;
pub mod signing;
pub mod spill;
pub mod systems;
pub mod workflow;
pub mod xml;

pub use error::{ClaimsError, FundError};
pub use flk::catalogue::Catalogue;
pub use flk::{Finding, RuleCounts};
pub use mek::{MekFinding, MekReport, PaidCases};
pub use names::{FileKind, Party, Period, RegisterFileName};
pub use nsi::Nsi;
pub use package::{
    case_keys, check_package, check_package_with_mek, MekSettings, Report, Settings,
};
