//! The element order, multiplicity and data types of the federal format (version 3.1 of the
//! order: the version the Q015 catalogue requires) for the general-care file (`H`) and the
//! personal-data file (`L`). Each entry lists an element's children in order: `NAME` once,
//! `NAME?` at most once, `NAME*` any number, `NAME+` at least once; `:D` a date, `:N` an
//! integer, `:M` a decimal number, nothing text or an element with children.

use std::collections::HashMap;

use smallvec::{smallvec, SmallVec};

const GENERAL: &[(&str, &str)] = &[
    ("ZL_LIST", "ZGLV SCHET ZAP+"),
    ("ZL_LIST/ZGLV", "VERSION DATA:D FILENAME SD_Z:N"),
    (
        "ZL_LIST/SCHET",
        "CODE:N CODE_MO YEAR:N MONTH:N NSCHET DSCHET:D PLAT? SUMMAV:M COMENTS? SUMMAP:M? SANK_MEK:M? SANK_MEE:M? SANK_EKMP:M?",
    ),
    ("ZL_LIST/ZAP", "N_ZAP:N PR_NOV:N PACIENT Z_SL"),
    (
        "ZL_LIST/ZAP/PACIENT",
        "ID_PAC VPOLIS:N SPOLIS? NPOLIS? ENP? ST_OKATO? SMO? SMO_OGRN? SMO_OK? SMO_NAM? INV:N? MSE:N? NOVOR VNOV_D:N*",
    ),
    (
        "ZL_LIST/ZAP/Z_SL",
        "IDCASE:N USL_OK:N VIDPOM:N FOR_POM:N NPR_MO? NPR_DATE:D? LPU DATE_Z_1:D DATE_Z_2:D KD_Z:N? VNOV_M:N* RSLT:N ISHOD:N \
         OS_SLUCH:N* VB_P:N? SL+ IDSP:N SUMV:M OPLATA:N? SUMP:M? SANK* SANK_IT:M?",
    ),
    (
        "ZL_LIST/ZAP/Z_SL/SL",
        "SL_ID LPU_1? PODR? PROFIL:N PROFIL_K:N? DET:N P_CEL? NHISTORY P_PER:N? DATE_1:D DATE_2:D KD:N? DS0? DS1 DS2* DS3* \
         C_ZAB:N? DS_ONK:N? DN:N? CODE_MES1* CODE_MES2? NAPR* CONS* ONK_SL? KSG_KPG? REAB:N? PRVS:N VERS_SPEC IDDOKT ED_COL:M? TARIF:M? SUM_M:M USL* COMENTSL?",
    ),
    (
        "ZL_LIST/ZAP/Z_SL/SL/KSG_KPG",
        "N_KSG? VER_KSG:N KSG_PG:N N_KPG? KOEF_Z:M KOEF_UP:M BZTSZ:M KOEF_D:M KOEF_U:M CRIT* SL_K:N IT_SL:M? SL_KOEF*",
    ),
    ("ZL_LIST/ZAP/Z_SL/SL/KSG_KPG/SL_KOEF", "IDSL:N Z_SL:M"),
    (
        "ZL_LIST/ZAP/Z_SL/SL/USL",
        "IDSERV LPU LPU_1? PODR? PROFIL:N VID_VME? DET:N DATE_IN:D DATE_OUT:D DS CODE_USL KOL_USL:M TARIF:M? SUMV_USL:M \
         PRVS:N CODE_MD NPL:N? COMENTU?",
    ),
    (
        "ZL_LIST/ZAP/Z_SL/SANK",
        "S_CODE S_SUM:M S_TIP:N SL_ID* S_OSN:N? DATE_ACT:D NUM_ACT CODE_EXP* S_COM? S_IST:N",
    ),
];

const PERSONAL: &[(&str, &str)] = &[
    ("PERS_LIST", "ZGLV PERS+"),
    ("PERS_LIST/ZGLV", "VERSION DATA:D FILENAME FILENAME1"),
    (
        "PERS_LIST/PERS",
        "ID_PAC FAM? IM? OT? W:N DR:D DOST:N* TEL? FAM_P? IM_P? OT_P? W_P:N? DR_P:D? DOST_P:N* MR? DOCTYPE:N? DOCSER? \
         DOCNUM? DOCDATE:D? DOCORG? SNILS? OKATOG? OKATOP? COMENTP?",
    ),
];

/// The data type of an element's text.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DataType {
    Text,
    Date,
    Integer,
    Decimal,
}

/// One child in an element's sequence.
#[derive(Clone, Debug)]
pub struct Slot {
    pub name: String,
    pub min: usize,
    pub max: Option<usize>,
    pub data_type: DataType,
}

/// The sequences of one file's format, by element path.
#[derive(Clone, Debug, Default)]
pub struct Schema {
    sequences: HashMap<String, Vec<Slot>>,
}

impl Schema {
    /// The general-care (`H`) format.
    pub fn general() -> Schema {
        Schema::from_table(GENERAL)
    }

    /// The personal-data (`L`) format.
    pub fn personal() -> Schema {
        Schema::from_table(PERSONAL)
    }

    fn from_table(table: &[(&str, &str)]) -> Schema {
        let sequences = table
            .iter()
            .map(|(path, children)| {
                let slots = children
                    .split_whitespace()
                    .map(|spec| {
                        let (spec, min, max) = match spec.chars().last() {
                            Some('?') => (&spec[..spec.len() - 1], 0, Some(1)),
                            Some('*') => (&spec[..spec.len() - 1], 0, None),
                            Some('+') => (&spec[..spec.len() - 1], 1, None),
                            _ => (spec, 1, Some(1)),
                        };
                        let (name, data_type) = match spec.split_once(':') {
                            Some((name, "D")) => (name, DataType::Date),
                            Some((name, "N")) => (name, DataType::Integer),
                            Some((name, _)) => (name, DataType::Decimal),
                            None => (spec, DataType::Text),
                        };
                        Slot {
                            name: name.to_owned(),
                            min,
                            max,
                            data_type,
                        }
                    })
                    .collect();
                ((*path).to_owned(), slots)
            })
            .collect();
        Schema { sequences }
    }

    /// The children sequence of the element at `path`, when the format defines it.
    pub fn sequence(&self, path: &str) -> Option<&[Slot]> {
        self.sequences.get(path).map(Vec::as_slice)
    }

    /// Every element path the format names (for the data types).
    pub fn slots(&self) -> impl Iterator<Item = (String, &Slot)> {
        self.sequences.iter().flat_map(|(path, slots)| {
            slots
                .iter()
                .map(move |slot| (format!("{path}/{}", slot.name), slot))
        })
    }
}

/// A problem with the children of one element.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SequenceProblem {
    Unknown(String),
    OutOfOrder { name: String, after: String },
    TooMany(String),
    Missing(String),
}

/// The slot of each child name (`None`: not part of the sequence). Children mostly come in
/// the sequence's order, so each is looked for from the previous one's slot on first.
pub fn slot_indexes(children: &[&str], slots: &[Slot]) -> SmallVec<[Option<usize>; 32]> {
    let mut from = 0;
    children
        .iter()
        .map(|child| {
            let found = slots[from..]
                .iter()
                .position(|slot| slot.name == *child)
                .map(|at| from + at)
                .or_else(|| slots[..from].iter().position(|slot| slot.name == *child));
            if let Some(at) = found {
                from = at;
            }
            found
        })
        .collect()
}

/// Checks the children names of one element against its sequence.
pub fn check_sequence(children: &[&str], slots: &[Slot]) -> Vec<SequenceProblem> {
    check_indexed(children, &slot_indexes(children, slots), slots)
}

/// [`check_sequence`] with the children's slots found already ([`slot_indexes`]).
pub fn check_indexed(
    children: &[&str],
    indexes: &[Option<usize>],
    slots: &[Slot],
) -> Vec<SequenceProblem> {
    let mut problems = Vec::new();
    let mut counts: SmallVec<[usize; 48]> = smallvec![0usize; slots.len()];
    let mut position = 0usize;
    let mut previous = "";
    for (child, index) in children.iter().zip(indexes) {
        match *index {
            None => problems.push(SequenceProblem::Unknown((*child).to_owned())),
            Some(index) => {
                if index < position {
                    problems.push(SequenceProblem::OutOfOrder {
                        name: (*child).to_owned(),
                        after: previous.to_owned(),
                    });
                } else {
                    position = index;
                }
                counts[index] += 1;
                if slots[index].max.is_some_and(|max| counts[index] > max)
                    && counts[index] == slots[index].max.unwrap_or(0) + 1
                {
                    problems.push(SequenceProblem::TooMany((*child).to_owned()));
                }
                previous = *child;
            }
        }
    }
    for (slot, &count) in slots.iter().zip(counts.iter()) {
        if count < slot.min {
            problems.push(SequenceProblem::Missing(slot.name.clone()));
        }
    }
    problems
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn sequences_catch_order_unknown_repeats_and_gaps() {
        let schema = Schema::general();
        let zap = schema.sequence("ZL_LIST/ZAP").unwrap();
        assert!(check_sequence(&["N_ZAP", "PR_NOV", "PACIENT", "Z_SL"], zap).is_empty());
        assert_eq!(
            check_sequence(&["PR_NOV", "N_ZAP", "PACIENT", "Z_SL"], zap),
            [SequenceProblem::OutOfOrder {
                name: "N_ZAP".into(),
                after: "PR_NOV".into()
            }]
        );
        assert_eq!(
            check_sequence(&["N_ZAP", "PR_NOV", "PACIENT"], zap),
            [SequenceProblem::Missing("Z_SL".into())]
        );
        assert_eq!(
            check_sequence(&["N_ZAP", "N_ZAP", "PR_NOV", "PACIENT", "Z_SL", "X"], zap),
            [
                SequenceProblem::TooMany("N_ZAP".into()),
                SequenceProblem::Unknown("X".into())
            ]
        );
        let z_sl = schema.sequence("ZL_LIST/ZAP/Z_SL").unwrap();
        assert!(z_sl
            .iter()
            .any(|slot| slot.name == "SL" && slot.min == 1 && slot.max.is_none()));
        assert!(Schema::personal().sequence("PERS_LIST/PERS").is_some());
        let pacient = schema.sequence("ZL_LIST/ZAP/PACIENT").unwrap();
        let inv = pacient.iter().find(|slot| slot.name == "INV").unwrap();
        assert_eq!(
            (inv.min, inv.max, inv.data_type),
            (0, Some(1), DataType::Integer)
        );
    }
}
