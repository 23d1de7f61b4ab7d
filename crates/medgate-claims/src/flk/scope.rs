//! Where a rule looks for the elements it names: the record being checked (from the element
//! up through its ancestors, then below it), the file's headers (`ZGLV`, `SCHET`), the file
//! name (`Pi`, `Pp`, `Ni`, `Np`) and, for the personal-data file, the patient's fields in
//! the main file.

use std::borrow::Cow;
use std::collections::HashMap;

use smallvec::{smallvec, SmallVec};

use crate::flk::condition::{Found, Values};
use crate::names::{Period, RegisterFileName};
use crate::xml::Element;

/// What a file's rules share: its name, period and header elements.
pub struct FileContext {
    pub name: RegisterFileName,
    pub root: &'static str,
    pub headers: Vec<Element>,
}

/// A place in a record: the chain from the record's root to one element.
pub struct Scope<'a> {
    pub chain: &'a [&'a Element],
    pub file: &'a FileContext,
    /// For a `PERS`: that patient's `PACIENT` fields in the main file.
    pub main: Option<&'a HashMap<String, String>>,
    /// The names of the record's and the headers' elements, when known: a name none of
    /// them may have is not looked for.
    pub names: Option<&'a NameFilter>,
}

/// Which element names (ASCII letters in either case) a record and the file's headers hold,
/// as a filter of 256 bits: a name whose bit is not set is in none of them, so looking it up
/// (up the chain, in the headers, below the element) would find nothing.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct NameFilter([u64; 4]);

impl NameFilter {
    fn bit(name: &str) -> usize {
        // FNV-1a over the case-folded bytes.
        let hash = name.bytes().fold(0xcbf2_9ce4_8422_2325u64, |hash, byte| {
            (hash ^ u64::from(byte.to_ascii_uppercase())).wrapping_mul(0x0100_0000_01b3)
        });
        (hash ^ (hash >> 32)) as usize & 255
    }

    pub fn add(&mut self, name: &str) {
        let bit = NameFilter::bit(name);
        self.0[bit / 64] |= 1 << (bit % 64);
    }

    /// Adds the names of an element and all its descendants.
    pub fn add_tree(&mut self, element: &Element) {
        self.add(&element.name);
        for child in &element.children {
            self.add_tree(child);
        }
    }

    pub fn may_hold(&self, name: &str) -> bool {
        let bit = NameFilter::bit(name);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

impl Values for Scope<'_> {
    fn values(&self, name: &str) -> Found<'_> {
        match name {
            "Pi" => return smallvec![Cow::Owned(self.file.name.sender().letter().to_string())],
            "Pp" => return smallvec![Cow::Owned(self.file.name.receiver().letter().to_string())],
            "Ni" => return smallvec![Cow::Borrowed(self.file.name.sender().code())],
            "Np" => return smallvec![Cow::Borrowed(self.file.name.receiver().code())],
            "YY" => return smallvec![Cow::Owned(self.file.name.period().year().to_string())],
            "MM" => return smallvec![Cow::Owned(self.file.name.period().month().to_string())],
            _ => {}
        }
        let absent = self.names.is_some_and(|names| {
            !name.contains(['/', '.']) && !name.is_empty() && !names.may_hold(name)
        });
        let found: Found<'_> = if absent {
            Found::new()
        } else {
            find(self.chain, &self.file.headers, name)
                .into_iter()
                .map(|e| Cow::Borrowed(e.value()))
                .collect()
        };
        if found.is_empty() && self.main.is_some() {
            let last = name
                .rsplit(['/', '.'])
                .next()
                .unwrap_or(name)
                .to_ascii_uppercase();
            if let Some(value) = self.main.and_then(|main| main.get(&last)) {
                return smallvec![Cow::Borrowed(value.as_str())];
            }
        }
        found
    }

    fn period(&self) -> Period {
        self.file.name.period()
    }
}

/// Elements found for a name: most names designate one element or none.
pub type Elements<'a> = SmallVec<[&'a Element; 4]>;

/// The elements `name` designates from the end of `chain`.
pub fn find<'a>(chain: &[&'a Element], headers: &'a [Element], name: &str) -> Elements<'a> {
    if name.contains('/') {
        let mut segments: SmallVec<[&str; 8]> = name.split('/').filter(|s| !s.is_empty()).collect();
        if segments
            .first()
            .is_some_and(|s| *s == "ZL_LIST" || *s == "PERS_LIST")
        {
            segments.remove(0);
        }
        // Along the chain as far as it goes, then down.
        let mut depth = 0;
        while depth < chain.len()
            && depth < segments.len()
            && chain[depth].name.eq_ignore_ascii_case(segments[depth])
        {
            depth += 1;
        }
        if depth > 0 {
            return descend(chain[depth - 1], &segments[depth..]);
        }
        for header in headers {
            if segments
                .first()
                .is_some_and(|s| header.name.eq_ignore_ascii_case(s))
            {
                return descend(header, &segments[1..]);
            }
        }
        return Elements::new();
    }
    if let Some((parent, child)) = name.split_once('.') {
        return find(chain, headers, parent)
            .into_iter()
            .flat_map(|p| {
                p.children
                    .iter()
                    .filter(|c| c.name.eq_ignore_ascii_case(child))
            })
            .collect();
    }
    for (index, element) in chain.iter().enumerate().rev() {
        if index + 1 == chain.len() && element.name.eq_ignore_ascii_case(name) {
            return smallvec![*element];
        }
        let children: Elements<'a> = element
            .children
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name))
            .collect();
        if !children.is_empty() {
            return children;
        }
    }
    for header in headers {
        if header.name.eq_ignore_ascii_case(name) {
            return smallvec![header];
        }
        let children: Elements<'a> = header
            .children
            .iter()
            .filter(|c| c.name.eq_ignore_ascii_case(name))
            .collect();
        if !children.is_empty() {
            return children;
        }
    }
    let mut below = Elements::new();
    if let Some(last) = chain.last() {
        collect(last, name, &mut below);
    }
    below
}

fn descend<'a>(from: &'a Element, segments: &[&str]) -> Elements<'a> {
    let mut current: Elements<'a> = smallvec![from];
    for segment in segments {
        current = current
            .into_iter()
            .flat_map(|e| {
                e.children
                    .iter()
                    .filter(|c| c.name.eq_ignore_ascii_case(segment))
            })
            .collect();
    }
    current
}

fn collect<'a>(element: &'a Element, name: &str, out: &mut Elements<'a>) {
    for child in &element.children {
        if child.name.eq_ignore_ascii_case(name) {
            out.push(child);
        }
        collect(child, name, out);
    }
}

/// Calls `visit` with every chain from the end of `chain` down the relative path `segments`
/// (`Z_SL`, `SL`), in document order, without allocating: `chain` is extended and given
/// back as it was.
pub fn each_instance<'a>(
    chain: &mut SmallVec<[&'a Element; 8]>,
    segments: &[String],
    visit: &mut dyn FnMut(&[&'a Element]),
) {
    let Some((first, rest)) = segments.split_first() else {
        visit(chain);
        return;
    };
    let Some(last) = chain.last().copied() else {
        return;
    };
    for child in last.children.iter().filter(|c| c.name == *first) {
        chain.push(child);
        each_instance(chain, rest, visit);
        chain.pop();
    }
}

/// Every chain from `root` down the relative path `segments` (`Z_SL`, `SL`).
pub fn instances<'a>(root: &'a Element, segments: &[String]) -> Vec<Vec<&'a Element>> {
    let mut chains = vec![vec![root]];
    for segment in segments {
        let mut next = Vec::new();
        for chain in chains {
            if let Some(last) = chain.last() {
                for child in last.children.iter().filter(|c| c.name == *segment) {
                    let mut longer = chain.clone();
                    longer.push(child);
                    next.push(longer);
                }
            }
        }
        chains = next;
    }
    chains
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn names_resolve_up_the_chain_then_down() {
        let usl = Element::new("USL")
            .with("IDSERV", "1")
            .with("DATE_IN", "2025-01-10");
        let sl = Element::new("SL")
            .with("SL_ID", "1")
            .with("DS1", "I10")
            .with_child(usl);
        let z_sl = Element::new("Z_SL")
            .with("IDCASE", "7")
            .with("USL_OK", "3")
            .with_child(sl);
        let zap = Element::new("ZAP").with("N_ZAP", "1").with_child(z_sl);
        let headers = vec![Element::new("SCHET").with("YEAR", "2025")];
        let chains = instances(&zap, &["Z_SL".into(), "SL".into(), "USL".into()]);
        assert_eq!(chains.len(), 1);
        let chain = &chains[0];
        let text = |name: &str| {
            find(chain, &headers, name)
                .iter()
                .map(|e| e.text.clone())
                .collect::<Vec<_>>()
        };
        assert_eq!(text("USL_OK"), ["3"]);
        assert_eq!(text("DS1"), ["I10"]);
        assert_eq!(text("YEAR"), ["2025"]);
        assert_eq!(text("ZL_LIST/ZAP/Z_SL/IDCASE"), ["7"]);
        assert_eq!(text("SL.USL").len(), 1);
        let z_chain = &chain[..2];
        assert_eq!(find(z_chain, &headers, "DATE_IN").len(), 1, "found below");
        assert!(find(z_chain, &headers, "NOTHING").is_empty());
    }
}
