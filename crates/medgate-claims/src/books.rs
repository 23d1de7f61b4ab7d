//! What a claims node controls its packages with, read from its data folder's NSI folder
//! (`<data>/claims/nsi`, where `medgate claims nsi import` installs packets): the FLK
//! catalogues shipped with medgate unless the fund installed a newer `Q015`/`Q022`, the
//! starter books overlaid with the installed ones, and the MEK catalogues — `Q016` and the
//! regional `Q023` — only as installed. MEK withholds money, so the node runs it only with the
//! edition the fund installed, never a copy it was built with; without `Q016` it says so.

use std::path::Path;

use crate::error::ClaimsError;
use crate::nsi::{Dictionary, CATALOGUES};
use crate::{Catalogue, Nsi};

/// The catalogues and books of one control on the node.
pub struct NodeBooks {
    pub catalogues: Vec<Catalogue>,
    pub nsi: Nsi,
    /// `Q016` (and `Q023` when installed); `None` when the node has no MEK catalogue.
    pub mek: Option<Vec<Catalogue>>,
    /// The MEK catalogues' names and editions (`Q016 1.9 (08.05.2020); …`).
    pub mek_editions: String,
}

impl NodeBooks {
    /// Reads the NSI folder `dir` (a folder that does not exist yet holds nothing).
    pub fn load(dir: &Path) -> Result<NodeBooks, ClaimsError> {
        let mut nsi = Nsi::starter()?;
        if dir.is_dir() {
            nsi.load_dir(dir)?;
        }
        let installed = |name: &str| -> Result<Option<(Catalogue, String)>, ClaimsError> {
            let path = dir.join(format!("{name}.xml"));
            match std::fs::read(&path) {
                Ok(bytes) => {
                    let catalogue = Catalogue::from_bytes(&bytes, name)?;
                    // Shown on the pages in Russian and English alike: `Q016 1.9 (08.05.2020)`.
                    let edition = Dictionary::from_bytes(&bytes, name)
                        .map(|d| d.edition_label())
                        .unwrap_or_default();
                    Ok(Some((catalogue, format!("{name} {edition}").trim_end().to_owned())))
                }
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
                Err(e) => Err(ClaimsError::io(&path, e)),
            }
        };
        let [flk_federal, mek_federal, flk_regional, mek_regional] = CATALOGUES;
        let mut catalogues = Vec::new();
        let shipped = Catalogue::shipped()?;
        for (name, fallback) in [flk_federal, flk_regional].into_iter().zip(shipped) {
            catalogues.push(installed(name)?.map_or(fallback, |(catalogue, _)| catalogue));
        }
        let (mek, mek_editions) = match installed(mek_federal)? {
            None => (None, String::new()),
            Some((federal, edition)) => {
                let mut editions = vec![edition];
                let mut mek = vec![federal];
                if let Some((regional, edition)) = installed(mek_regional)? {
                    mek.push(regional);
                    editions.push(edition);
                }
                (Some(mek), editions.join("; "))
            }
        };
        Ok(NodeBooks {
            catalogues,
            nsi,
            mek,
            mek_editions,
        })
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn mek_runs_only_with_an_installed_catalogue() {
        let dir = tempfile::tempdir().unwrap();
        let empty = NodeBooks::load(&dir.path().join("missing")).unwrap();
        assert!(empty.mek.is_none());
        assert_eq!(empty.catalogues.len(), 2);
        let q016 = include_bytes!("../catalogues/Q016.xml");
        crate::nsi::install(dir.path(), Path::new("Q016.xml"), q016).unwrap();
        let books = NodeBooks::load(dir.path()).unwrap();
        let mek = books.mek.expect("Q016 installed");
        assert_eq!(mek.len(), 1);
        assert_eq!(mek[0].name, "Q016");
        assert!(
            books.mek_editions.starts_with("Q016 1.9 ("),
            "{}",
            books.mek_editions
        );
        // The catalogue is not taken for a book.
        assert!(books.nsi.get("Q016").is_none());
    }

    #[test]
    fn a_catalogue_that_does_not_read_as_one_is_not_installed() {
        let dir = tempfile::tempdir().unwrap();
        let packet = b"<?xml version=\"1.0\"?><packet><zap><IDUMP>1</IDUMP></zap></packet>";
        let error = crate::nsi::install(dir.path(), Path::new("Q016.xml"), packet)
            .unwrap_err()
            .to_string();
        assert!(
            error.contains("not a readable Q016 control catalogue"),
            "{error}"
        );
        assert!(!dir.path().join("Q016.xml").exists());
    }
}
