//! Which document type (and so which policy) a CDA document belongs to: a small table from
//! the Polish P1 class (`KLAS_DOK_P1`) and the LOINC document code to the catalogue's type
//! codes, overridable in `agent.toml` under `[agent.type_map]`.
//!
//! The lookup order, first match wins:
//!
//! 1. `[agent.type_map]` by the P1 class (e.g. `"04.01"`), then by the LOINC code
//!    (e.g. `"57833-6"`);
//! 2. the built-in table by P1 class, then by LOINC code (below);
//! 3. the configured default type (`default_type`, `UDM` — shared medical records — unless
//!    set), because a CDA of a kind the table does not know is still medical documentation.
//!
//! | P1 class | LOINC | type |
//! |---|---|---|
//! | 04.01 Recepta | 57833-6 Prescription for medication | REC |
//! | 02.10 Skierowanie na badanie lub leczenie | 57832-8, 57133-1 referral | SKH / SKD / SKS (see below) |
//! | 00.20 Karta informacyjna z leczenia szpitalnego | 18842-5 Discharge summary | KIF |
//! | 08.90 Informacja dla lekarza kierującego/POZ | — | ILK |
//! | 06.10 Wyniki badań laboratoryjnych | 11502-2 Laboratory report | WBL |
//! | 06.00 Wyniki badań diagnostycznych | 18748-4 Diagnostic imaging study | WBD |
//! | 08.80 Dokument anulujący | — | DAN |
//! | 02.81 Zlecenie na zaopatrzenie w wyroby medyczne | 57829-4 | ZPO |
//!
//! P1 has one class for every e-referral, while the catalogue tells referrals to hospital
//! (SKH), for a diagnostic test (SKD) and to a specialist (SKS) apart. The document's title
//! is the only place that says which: a title naming a hospital ("szpital") gives SKH, one
//! naming a test ("badanie", "badania") gives SKD, any other SKS. The three share the same
//! default policy, so the guess only matters when a tenant sets them differently; then an
//! explicit `[agent.type_map]` entry is the reliable way.

use std::collections::BTreeMap;

use medgate_cda::CdaHeader;

/// The type given to a CDA document that no table entry matches, unless configured.
pub const DEFAULT_TYPE: &str = "UDM";

/// The type given to an attachment whose sidecar names none ("Załącznik").
pub const ATTACHMENT_TYPE: &str = "ZAL";

/// A marker for the referral classes whose exact type is read from the title.
const REFERRAL: &str = "referral";

const BY_P1_CLASS: &[(&str, &str)] = &[
    ("04.01", "REC"),
    ("02.10", REFERRAL),
    ("00.20", "KIF"),
    ("08.90", "ILK"),
    ("06.10", "WBL"),
    ("06.00", "WBD"),
    ("08.80", "DAN"),
    ("02.81", "ZPO"),
];

const BY_LOINC: &[(&str, &str)] = &[
    ("57833-6", "REC"),
    ("57832-8", REFERRAL),
    ("57133-1", REFERRAL),
    ("18842-5", "KIF"),
    ("11502-2", "WBL"),
    ("18748-4", "WBD"),
    ("57829-4", "ZPO"),
];

/// The mapping from a CDA document to a type code.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TypeMap {
    overrides: BTreeMap<String, String>,
    default_type: String,
}

impl Default for TypeMap {
    fn default() -> Self {
        TypeMap {
            overrides: BTreeMap::new(),
            default_type: DEFAULT_TYPE.to_owned(),
        }
    }
}

impl TypeMap {
    /// A map with `overrides` (P1 class or LOINC code → type code) and a default type. The
    /// codes are checked against the catalogue by the configuration loader.
    pub fn new(overrides: BTreeMap<String, String>, default_type: String) -> TypeMap {
        TypeMap {
            overrides,
            default_type,
        }
    }

    /// The type code of a parsed CDA document.
    pub fn type_of(&self, header: &CdaHeader) -> String {
        let p1_class = header
            .document_type
            .p1_class
            .as_ref()
            .map(|class| class.code.as_str());
        let loinc = header.document_type.code.code.as_str();
        let title = header.title.as_deref().unwrap_or("");
        self.type_of_codes(p1_class, loinc, title)
    }

    fn type_of_codes(&self, p1_class: Option<&str>, loinc: &str, title: &str) -> String {
        let configured = p1_class
            .and_then(|class| self.overrides.get(class))
            .or_else(|| self.overrides.get(loinc));
        if let Some(code) = configured {
            return code.clone();
        }
        let built_in = p1_class
            .and_then(|class| lookup(BY_P1_CLASS, class))
            .or_else(|| lookup(BY_LOINC, loinc));
        match built_in {
            Some(REFERRAL) => referral_type(title).to_owned(),
            Some(code) => code.to_owned(),
            None => self.default_type.clone(),
        }
    }
}

fn lookup(table: &[(&str, &'static str)], key: &str) -> Option<&'static str> {
    table
        .iter()
        .find(|(known, _)| *known == key)
        .map(|(_, code)| *code)
}

/// SKH, SKD or SKS from a referral's title (see the module documentation).
fn referral_type(title: &str) -> &'static str {
    let title = title.to_lowercase();
    if title.contains("szpital") {
        "SKH"
    } else if title.contains("badani") {
        "SKD"
    } else {
        "SKS"
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    fn header(path: &std::path::Path) -> CdaHeader {
        let bytes = std::fs::read(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        medgate_cda::parse(&bytes).unwrap()
    }

    #[test]
    fn the_projects_samples_map_to_the_catalogue_types() {
        let map = TypeMap::default();
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../examples/cda");
        for (file, code) in [
            ("01-karta-informacyjna.xml", "KIF"),
            ("02-informacja-dla-lekarza-kierujacego.xml", "ILK"),
            ("03-recepta.xml", "REC"),
            ("04-skierowanie-do-szpitala.xml", "SKH"),
            ("05-wynik-badania-laboratoryjnego.xml", "WBL"),
        ] {
            assert_eq!(map.type_of(&header(&dir.join(file))), code, "{file}");
        }
    }

    /// The public PIK examples, when they are beside the project (`../shared`); they add
    /// coverage, the project's own samples above are what the test needs.
    #[test]
    fn pik_examples_map_to_the_catalogue_types_when_present() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../../../shared/testdata/cda/pik");
        if !dir.is_dir() {
            eprintln!(
                "\n*** SKIPPED: the PIK examples are not at {}; only the project's samples were mapped ***\n",
                dir.display()
            );
            return;
        }
        let sample = |name: &str| header(&dir.join(name));
        let map = TypeMap::default();
        for (file, code) in [
            ("2.16.840.1.113883.3.4424.13.10.1.26-1.xml", "REC"),
            ("2.16.840.1.113883.3.4424.13.10.1.3-1.xml", "REC"),
            ("2.16.840.1.113883.3.4424.13.10.1.18-1.xml", "KIF"),
            ("2.16.840.1.113883.3.4424.13.10.1.28-1.xml", "ILK"),
            ("2.16.840.1.113883.3.4424.13.10.1.17-1.xml", "WBL"),
            ("2.16.840.1.113883.3.4424.13.10.1.16-1.xml", "WBD"),
            ("2.16.840.1.113883.3.4424.13.10.1.14-1.xml", "DAN"),
            ("2.16.840.1.113883.3.4424.13.10.1.5-1.xml", "ZPO"),
            // Referrals: to hospital, for an examination, for rehabilitation.
            ("2.16.840.1.113883.3.4424.13.10.1.4-1.xml", "SKH"),
            ("2.16.840.1.113883.3.4424.13.10.1.4-3.xml", "SKD"),
            ("2.16.840.1.113883.3.4424.13.10.1.4-2.xml", "SKS"),
            // A consultation note has no entry: the default type.
            ("2.16.840.1.113883.3.4424.13.10.1.15-1.xml", "UDM"),
        ] {
            assert_eq!(map.type_of(&sample(file)), code, "{file}");
        }
    }

    #[test]
    fn documents_without_a_p1_class_map_by_loinc() {
        let map = TypeMap::default();
        assert_eq!(map.type_of_codes(None, "57833-6", "Prescription"), "REC");
        assert_eq!(map.type_of_codes(None, "18842-5", ""), "KIF");
        assert_eq!(map.type_of_codes(None, "57133-1", "Referral"), "SKS");
        assert_eq!(map.type_of_codes(None, "34133-9", "CCD"), "UDM");
    }

    #[test]
    fn the_configured_map_wins_p1_class_before_loinc_and_sets_the_default() {
        let overrides = BTreeMap::from([
            ("04.01".to_owned(), "KIF".to_owned()),
            ("57833-6".to_owned(), "ILK".to_owned()),
            ("02.10".to_owned(), "ZBD".to_owned()),
        ]);
        let map = TypeMap::new(overrides, "WBD".to_owned());
        assert_eq!(map.type_of_codes(Some("04.01"), "57833-6", ""), "KIF");
        assert_eq!(map.type_of_codes(None, "57833-6", ""), "ILK");
        assert_eq!(
            map.type_of_codes(Some("02.10"), "57832-8", "do szpitala"),
            "ZBD"
        );
        assert_eq!(map.type_of_codes(Some("99.99"), "1-1", ""), "WBD");
        // The built-in table still applies where the map says nothing.
        assert_eq!(map.type_of_codes(Some("00.20"), "18842-5", ""), "KIF");
    }
}
