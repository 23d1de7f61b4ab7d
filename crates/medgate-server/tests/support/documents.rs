//! Documents for the tests: the hand-made PIK-style fixture of the end-to-end suite (and
//! copies of it for other patients, titles, days and authors), the C-CDA fixture of the CDA
//! crate, and the Polish PIK examples when they are present.

use std::path::{Path, PathBuf};

use super::Clinic;

/// The hand-made fixture: PESEL 44051401359, effective 2024-03-15 10:30 +01:00.
pub const OWN_ID: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001";
pub const OWN_PESEL: &str = "44051401359";
pub const OWN_PATIENT: &str = "Zofia Testowa-Wiśniewska";
/// The C-CDA fixture: effective 2024-01-05 14:30 -05:00 (19:30 UTC).
pub const CCDA_ID: &str = "2.16.840.1.113883.19.5.99999.1^TT988";
/// The root of the ids of documents made from the hand-made fixture.
pub const ROOT: &str = "2.16.840.1.113883.3.4424.2.7.26.7.1";
pub const PESEL_ROOT: &str = "2.16.840.1.113883.3.4424.1.1.616";

pub const PESEL_A: &str = "44051401359";
pub const PESEL_B: &str = "02070803628";
pub const NAME_A: (&str, &str) = ("Zofia", "Testowa-Wiśniewska");
pub const NAME_B: (&str, &str) = ("Marek", "Próbny");

pub fn own_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate/tests/cli/fixtures/cda-discharge-pesel.xml")
}

pub fn ccda_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../medgate-cda/tests/fixtures/ccda-continuity-of-care.xml")
}

pub fn own_bytes() -> Vec<u8> {
    std::fs::read(own_fixture()).unwrap()
}

pub fn ccda_bytes() -> Vec<u8> {
    std::fs::read(ccda_fixture()).unwrap()
}

/// The PIK examples (sorted), or a loud note that they are missing (they live outside the
/// repository).
pub fn pik_files(what: &str) -> Option<Vec<PathBuf>> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../../shared/testdata/cda/pik");
    let Ok(entries) = std::fs::read_dir(&dir) else {
        eprintln!(
            "\n*** SKIPPED: the PIK examples are not at {}; {what} did not run ***\n",
            dir.display()
        );
        return None;
    };
    let mut files: Vec<PathBuf> = entries
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "xml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no PIK examples in {}", dir.display());
    Some(files)
}

/// One document to make from the hand-made fixture.
#[derive(Clone, Copy)]
pub struct Made<'a> {
    pub extension: &'a str,
    pub pesel: &'a str,
    pub name: (&'a str, &'a str),
    pub title: &'a str,
    /// `YYYYMMDD` of the effective time.
    pub day: &'a str,
    /// The author's family name.
    pub author: &'a str,
}

impl<'a> Made<'a> {
    /// The fixture's day and author, for another id, patient and title.
    pub fn new(
        extension: &'a str,
        pesel: &'a str,
        name: (&'a str, &'a str),
        title: &'a str,
    ) -> Made<'a> {
        Made {
            extension,
            pesel,
            name,
            title,
            day: "20240315",
            author: "Nowak",
        }
    }

    /// The document's id.
    pub fn id(&self) -> String {
        format!("{ROOT}^{}", self.extension)
    }

    /// The CDA text.
    pub fn text(&self) -> String {
        std::fs::read_to_string(own_fixture())
            .unwrap()
            .replace(
                "extension=\"MG-0001\"",
                &format!("extension=\"{}\"", self.extension),
            )
            .replace(
                "extension=\"MG-SET-0001\"",
                &format!("extension=\"{}-SET\"", self.extension),
            )
            .replace(
                "extension=\"44051401359\"",
                &format!("extension=\"{}\"", self.pesel),
            )
            .replace(
                "<given>Zofia</given>",
                &format!("<given>{}</given>", self.name.0),
            )
            .replace(
                "<family>Testowa-Wiśniewska</family>",
                &format!("<family>{}</family>", self.name.1),
            )
            .replace(
                "<title>Karta informacyjna z leczenia szpitalnego</title>",
                &format!("<title>{}</title>", self.title),
            )
            .replace(
                "value=\"20240315103000+0100\"",
                &format!("value=\"{}103000+0100\"", self.day),
            )
            .replacen(
                "<family>Nowak</family>",
                &format!("<family>{}</family>", self.author),
                1,
            )
    }
}

impl Clinic {
    /// Uploads a document made from the fixture; returns its id.
    pub async fn put_made(&self, made: Made<'_>) -> String {
        let stored = self.put(made.text()).await.unwrap();
        assert_eq!(stored["id"], made.id().as_str(), "{stored}");
        made.id()
    }

    /// A document of the patient (the fixture with another id, PESEL, name and title).
    pub async fn put_document(
        &self,
        extension: &str,
        pesel: &str,
        name: (&str, &str),
        title: &str,
    ) -> String {
        self.put_made(Made::new(extension, pesel, name, title))
            .await
    }
}
