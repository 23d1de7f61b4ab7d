//! Where a rule looks for the elements it names: the record being checked (from the element
//! up through its ancestors, then below it), the file's headers (`ZGLV`, `SCHET`), the file
//! name (`Pi`, `Pp`, `Ni`, `Np`) and, for the personal-data file, the patient's fields in
//! the main file.

use std::borrow::Cow;
use std::collections::HashMap;

use smallvec::{smallvec, SmallVec};

use crate::flk::condition::{Found, Name, Values};
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
        // The length and four bytes, case-folded: the first, the middle and the last two,
        // which tell the format's names apart (`DATE_1`/`DATE_Z_1`, `SUMV`/`SUM_M`) at a
        // fraction of a hash over every byte; a name that shares its bit with another only
        // costs a lookup that finds nothing.
        let bytes = name.as_bytes();
        let at =
            |index: usize| u32::from(bytes.get(index).copied().unwrap_or(0).to_ascii_uppercase());
        let len = bytes.len();
        let mut hash = len as u32;
        for byte in [
            at(0),
            at(len / 2),
            at(len.wrapping_sub(2)),
            at(len.wrapping_sub(1)),
        ] {
            hash = hash.wrapping_mul(0x9e37_79b1) ^ byte;
        }
        (hash ^ (hash >> 16) ^ (hash >> 8)) as usize & 255
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

    /// The names of an element and all its descendants.
    pub fn of(element: &Element) -> NameFilter {
        let mut filter = NameFilter::default();
        filter.add_tree(element);
        filter
    }

    /// A filter of just these names, to ask [`NameFilter::holds_all`] with.
    pub fn of_names<'n>(names: impl IntoIterator<Item = &'n str>) -> NameFilter {
        let mut filter = NameFilter::default();
        for name in names {
            filter.add(name);
        }
        filter
    }

    /// Whether every name of `required` may be held: `false` means one of them is surely not.
    pub fn holds_all(&self, required: &NameFilter) -> bool {
        self.0
            .iter()
            .zip(required.0)
            .all(|(held, required)| required & !held == 0)
    }

    /// The names of both.
    pub fn union(self, other: &NameFilter) -> NameFilter {
        let mut both = self;
        for (word, other) in both.0.iter_mut().zip(other.0) {
            *word |= other;
        }
        both
    }

    pub fn may_hold(&self, name: &str) -> bool {
        let bit = NameFilter::bit(name);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

impl NameFilter {
    fn has_bit(&self, bit: u8) -> bool {
        let bit = usize::from(bit);
        self.0[bit / 64] & (1 << (bit % 64)) != 0
    }
}

/// How a name a rule writes is looked up, decided once when the rule is compiled instead of
/// on every lookup: a name of the file name (`Pi`, `YY`), a plain name (`DS1`), a child of
/// a plain name (`SL.USL`) or a path (`ZL_LIST/ZAP/Z_SL/IDCASE`, its root left out), each
/// step with its bit of the [`NameFilter`].
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Lookup {
    kind: Kind,
    /// The last step in upper case: the key of the main file's patient fields.
    main_key: Box<str>,
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Kind {
    Pseudo(Pseudo),
    Plain(Step),
    Child { parent: Step, child: Step },
    Path(Box<[Step]>),
}

/// The names taken from the file name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Pseudo {
    SenderLetter,
    ReceiverLetter,
    SenderCode,
    ReceiverCode,
    Year,
    Month,
}

/// One step of a name, with its bit of the [`NameFilter`].
#[derive(Clone, Debug, PartialEq, Eq)]
struct Step {
    name: Box<str>,
    bit: u8,
}

impl Step {
    fn new(name: &str) -> Step {
        Step {
            name: name.into(),
            bit: NameFilter::bit(name) as u8,
        }
    }
}

impl AsRef<str> for Step {
    fn as_ref(&self) -> &str {
        &self.name
    }
}

impl Lookup {
    /// How `name` is looked up: the same as [`find`] and [`Scope`]'s `values` decide it on
    /// each call.
    pub fn new(name: &str) -> Lookup {
        let pseudo = match name {
            "Pi" => Some(Pseudo::SenderLetter),
            "Pp" => Some(Pseudo::ReceiverLetter),
            "Ni" => Some(Pseudo::SenderCode),
            "Np" => Some(Pseudo::ReceiverCode),
            "YY" => Some(Pseudo::Year),
            "MM" => Some(Pseudo::Month),
            _ => None,
        };
        let kind = if let Some(pseudo) = pseudo {
            Kind::Pseudo(pseudo)
        } else if name.contains('/') {
            Kind::Path(path_segments(name).iter().map(|s| Step::new(s)).collect())
        } else if let Some((parent, child)) = name.split_once('.') {
            Kind::Child {
                parent: Step::new(parent),
                child: Step::new(child),
            }
        } else {
            Kind::Plain(Step::new(name))
        };
        Lookup {
            kind,
            main_key: name
                .rsplit(['/', '.'])
                .next()
                .unwrap_or(name)
                .to_ascii_uppercase()
                .into(),
        }
    }

    /// Whether the name is a path or a child (`ZAP/Z_SL/X`, `SANK.S_SUM`).
    pub fn is_nested(&self) -> bool {
        matches!(self.kind, Kind::Child { .. } | Kind::Path(_))
    }

    /// Whether elements so named may be found where `names` were taken: every element a
    /// lookup finds is named by its last step and reached through elements named by the
    /// others, so a step whose bit is not set finds nothing.
    fn may_be_in(&self, names: &NameFilter) -> bool {
        match &self.kind {
            Kind::Pseudo(_) => true,
            Kind::Plain(step) => step.name.is_empty() || names.has_bit(step.bit),
            Kind::Child { parent, child } => names.has_bit(parent.bit) && names.has_bit(child.bit),
            Kind::Path(steps) => steps.iter().all(|step| names.has_bit(step.bit)),
        }
    }

    /// Calls `out` with the elements the name designates from the end of `chain`, in the
    /// order [`find`] gives them.
    fn each<'a>(
        &self,
        chain: &[&'a Element],
        headers: &'a [Element],
        out: &mut impl FnMut(&'a Element),
    ) {
        match &self.kind {
            Kind::Pseudo(_) => {}
            Kind::Plain(step) => plain(chain, headers, &step.name, out),
            Kind::Child { parent, child } => children_of_plain(chain, headers, parent, child, out),
            Kind::Path(steps) => path(chain, headers, &steps[..], out),
        }
    }
}

impl Scope<'_> {
    fn pseudo(&self, pseudo: Pseudo) -> Found<'_> {
        let name = &self.file.name;
        match pseudo {
            Pseudo::SenderLetter => smallvec![Cow::Owned(name.sender().letter().to_string())],
            Pseudo::ReceiverLetter => smallvec![Cow::Owned(name.receiver().letter().to_string())],
            Pseudo::SenderCode => smallvec![Cow::Borrowed(name.sender().code())],
            Pseudo::ReceiverCode => smallvec![Cow::Borrowed(name.receiver().code())],
            Pseudo::Year => smallvec![Cow::Owned(name.period().year().to_string())],
            Pseudo::Month => smallvec![Cow::Owned(name.period().month().to_string())],
        }
    }
}

impl Values for Scope<'_> {
    fn values(&self, name: &str) -> Found<'_> {
        match name {
            "Pi" => return self.pseudo(Pseudo::SenderLetter),
            "Pp" => return self.pseudo(Pseudo::ReceiverLetter),
            "Ni" => return self.pseudo(Pseudo::SenderCode),
            "Np" => return self.pseudo(Pseudo::ReceiverCode),
            "YY" => return self.pseudo(Pseudo::Year),
            "MM" => return self.pseudo(Pseudo::Month),
            _ => {}
        }
        let absent = self.names.is_some_and(|names| {
            !name.contains(['/', '.']) && !name.is_empty() && !names.may_hold(name)
        });
        let mut found = Found::new();
        if !absent {
            each_found(self.chain, &self.file.headers, name, &mut |e| {
                found.push(Cow::Borrowed(e.value()))
            });
        }
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

    fn values_of(&self, name: &Name) -> Found<'_> {
        let lookup = name.lookup();
        if let Kind::Pseudo(pseudo) = lookup.kind {
            return self.pseudo(pseudo);
        }
        let mut found = Found::new();
        if self.names.is_none_or(|names| lookup.may_be_in(names)) {
            lookup.each(self.chain, &self.file.headers, &mut |e| {
                found.push(Cow::Borrowed(e.value()))
            });
        }
        if found.is_empty() {
            if let Some(value) = self.main.and_then(|main| main.get(&*lookup.main_key)) {
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
    let mut found = Elements::new();
    each_found(chain, headers, name, &mut |e| found.push(e));
    found
}

/// The steps of a path below the root (`ZL_LIST/ZAP/Z_SL` → `ZAP`, `Z_SL`).
fn path_segments(name: &str) -> SmallVec<[&str; 8]> {
    let mut segments: SmallVec<[&str; 8]> = name.split('/').filter(|s| !s.is_empty()).collect();
    if segments
        .first()
        .is_some_and(|s| *s == "ZL_LIST" || *s == "PERS_LIST")
    {
        segments.remove(0);
    }
    segments
}

/// [`find`] without collecting: `out` is called with each element in order.
fn each_found<'a>(
    chain: &[&'a Element],
    headers: &'a [Element],
    name: &str,
    out: &mut impl FnMut(&'a Element),
) {
    if name.contains('/') {
        return path(chain, headers, &path_segments(name)[..], out);
    }
    if let Some((parent, child)) = name.split_once('.') {
        return children_of_plain(chain, headers, parent, child, out);
    }
    plain(chain, headers, name, out)
}

/// A path: along the chain as far as it goes, then down; else from the header it starts with.
fn path<'a, S: AsRef<str>>(
    chain: &[&'a Element],
    headers: &'a [Element],
    segments: &[S],
    out: &mut impl FnMut(&'a Element),
) {
    let mut depth = 0;
    while depth < chain.len()
        && depth < segments.len()
        && same_name(&chain[depth].name, segments[depth].as_ref())
    {
        depth += 1;
    }
    if depth > 0 {
        return descend(chain[depth - 1], &segments[depth..], out);
    }
    let Some(first) = segments.first() else {
        return;
    };
    if let Some(header) = headers
        .iter()
        .find(|header| same_name(&header.name, first.as_ref()))
    {
        descend(header, &segments[1..], out);
    }
}

/// `PARENT.CHILD`: the children so named of what the plain name designates.
fn children_of_plain<'a, S: AsRef<str>>(
    chain: &[&'a Element],
    headers: &'a [Element],
    parent: S,
    child: S,
    out: &mut impl FnMut(&'a Element),
) {
    let mut parents = Elements::new();
    plain(chain, headers, parent.as_ref(), &mut |e| parents.push(e));
    for p in parents {
        children_named(p, child.as_ref(), out);
    }
}

/// A plain name: the end of the chain itself or the children of the nearest element up the
/// chain that has some so named; else a header or a header's children; else every element
/// so named below the end of the chain.
fn plain<'a>(
    chain: &[&'a Element],
    headers: &'a [Element],
    name: &str,
    out: &mut impl FnMut(&'a Element),
) {
    for (index, element) in chain.iter().enumerate().rev() {
        if index + 1 == chain.len() && same_name(&element.name, name) {
            out(element);
            return;
        }
        if children_named(element, name, out) {
            return;
        }
    }
    for header in headers {
        if same_name(&header.name, name) {
            out(header);
            return;
        }
        if children_named(header, name, out) {
            return;
        }
    }
    if let Some(last) = chain.last() {
        collect(last, name, out);
    }
}

/// Calls `out` with the children of `element` so named; whether there was one.
fn children_named<'a>(element: &'a Element, name: &str, out: &mut impl FnMut(&'a Element)) -> bool {
    let mut any = false;
    for child in &element.children {
        if same_name(&child.name, name) {
            out(child);
            any = true;
        }
    }
    any
}

/// `name.eq_ignore_ascii_case(key)`, quicker: a byte equal as it is needs no case folded.
#[inline]
fn same_name(name: &str, key: &str) -> bool {
    let (name, key) = (name.as_bytes(), key.as_bytes());
    name.len() == key.len()
        && name
            .iter()
            .zip(key)
            .all(|(a, b)| a == b || (a ^ 0x20 == *b && a.is_ascii_alphabetic()))
}

fn descend<'a, S: AsRef<str>>(
    from: &'a Element,
    segments: &[S],
    out: &mut impl FnMut(&'a Element),
) {
    let Some((first, rest)) = segments.split_first() else {
        out(from);
        return;
    };
    for child in &from.children {
        if same_name(&child.name, first.as_ref()) {
            descend(child, rest, out);
        }
    }
}

fn collect<'a>(element: &'a Element, name: &str, out: &mut impl FnMut(&'a Element)) {
    for child in &element.children {
        if same_name(&child.name, name) {
            out(child);
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
    use crate::names::RegisterFileName;

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

    fn record() -> (Element, Vec<Element>) {
        let usl =
            |id: &str, date: &str| Element::new("USL").with("IDSERV", id).with("DATE_IN", date);
        let sl = Element::new("SL")
            .with("SL_ID", "1")
            .with("DS1", " I10 ")
            .with_child(usl("1", "2025-01-10"))
            .with_child(usl("2", "2025-01-11"));
        let z_sl = Element::new("Z_SL")
            .with("IDCASE", "7")
            .with("USL_OK", "3")
            .with_child(Element::new("SANK").with("S_SUM", "0"))
            .with_child(sl);
        let zap = Element::new("ZAP").with("N_ZAP", "1").with_child(z_sl);
        let headers = vec![
            Element::new("ZGLV").with("VERSION", "3.2"),
            Element::new("SCHET")
                .with("YEAR", "2025")
                .with("MONTH", "1"),
        ];
        (zap, headers)
    }

    /// A name resolved once finds what the same name looked up by its text finds, from every
    /// place of the record, with and without the filter of names and the main file's fields.
    #[test]
    fn resolved_names_find_what_their_text_finds() {
        let (zap, headers) = record();
        let context = FileContext {
            name: RegisterFileName::parse("HM010001S14002_25011").unwrap(),
            root: "ZL_LIST",
            headers,
        };
        let mut filter = NameFilter::default();
        filter.add_tree(&zap);
        for header in &context.headers {
            filter.add_tree(header);
        }
        let main: HashMap<String, String> = [("ENP".to_owned(), "123".to_owned())].into();
        let mut chains = instances(&zap, &["Z_SL".into(), "SL".into(), "USL".into()]);
        let full = chains[0].clone();
        chains.extend((1..full.len()).map(|length| full[..length].to_vec()));
        chains.push(vec![&zap, &zap.children[1], &zap.children[1].children[0]]);
        let names = [
            "DS1",
            "ds1",
            "DATE_IN",
            "IDSERV",
            "USL_OK",
            "YEAR",
            "ZGLV",
            "SCHET",
            "NOTHING",
            "ENP",
            "SL.USL",
            "sl.DATE_IN",
            "SANK.S_SUM",
            "SANK.NOTHING",
            "NOTHING.S_SUM",
            "Z_SL.SL.X",
            "ZL_LIST/ZAP/Z_SL/IDCASE",
            "ZAP/Z_SL/SL/USL/IDSERV",
            "ZL_LIST/SCHET/YEAR",
            "ZL_LIST/ZAP",
            "ZL_LIST/",
            "ZL_LIST/NOTHING/X",
            "PERS_LIST/ZAP/N_ZAP",
            "zap/z_sl/sank",
            "Pi",
            "Pp",
            "Ni",
            "Np",
            "YY",
            "MM",
            "pi",
            "",
        ];
        for chain in &chains {
            for with_filter in [false, true] {
                for with_main in [false, true] {
                    let scope = Scope {
                        chain,
                        file: &context,
                        main: with_main.then_some(&main),
                        names: with_filter.then_some(&filter),
                    };
                    for name in names {
                        let by_text = scope.values(name);
                        assert_eq!(
                            scope.values_of(&Name::new(name)),
                            by_text,
                            "{name} from {:?}",
                            chain.iter().map(|e| &e.name).collect::<Vec<_>>()
                        );
                        if !with_main {
                            let found: Vec<&str> = find(chain, &context.headers, name)
                                .iter()
                                .map(|e| e.value())
                                .collect();
                            let expected: Vec<&str> = if is_pseudo_name(name) {
                                found.clone()
                            } else {
                                by_text.iter().map(|v| v.as_ref()).collect()
                            };
                            assert_eq!(found, expected, "{name}");
                        }
                    }
                }
            }
        }
        let usl = &full;
        let scope = Scope {
            chain: usl,
            file: &context,
            main: Some(&main),
            names: Some(&filter),
        };
        let values = |name: &str| {
            scope
                .values_of(&Name::new(name))
                .into_iter()
                .map(|v| v.into_owned())
                .collect::<Vec<_>>()
        };
        assert_eq!(values("DS1"), ["I10"]);
        assert_eq!(values("SL.USL").len(), 2);
        assert_eq!(values("ZL_LIST/ZAP/Z_SL/IDCASE"), ["7"]);
        assert_eq!(values("ZL_LIST/SCHET/YEAR"), ["2025"]);
        assert_eq!(values("SANK.S_SUM"), ["0"]);
        assert_eq!(values("ENP"), ["123"], "from the main file");
        assert_eq!(values("YY"), ["2025"]);
        assert_eq!(values("MM"), ["1"]);
        assert_eq!(values("Pi"), ["M"]);
        assert!(values("NOTHING").is_empty());
    }

    #[test]
    fn names_are_the_same_ignoring_ascii_case() {
        let names = [
            "", "A", "a", "B", "@", "`", "[", "{", "DS1", "ds1", "Ds1", "DS2", "DS", "SL_ID",
            "sl_id", "SL-ID", "Тег", "тег", "z_sl", "Z_SL",
        ];
        for name in names {
            for key in names {
                assert_eq!(
                    same_name(name, key),
                    name.eq_ignore_ascii_case(key),
                    "{name} {key}"
                );
            }
        }
        for a in 0..128u8 {
            for b in 0..128u8 {
                let (a, b) = (char::from(a).to_string(), char::from(b).to_string());
                assert_eq!(same_name(&a, &b), a.eq_ignore_ascii_case(&b), "{a:?} {b:?}");
            }
        }
    }

    fn is_pseudo_name(name: &str) -> bool {
        matches!(name, "Pi" | "Pp" | "Ni" | "Np" | "YY" | "MM")
    }

    #[test]
    fn resolved_names_know_their_kind() {
        assert!(Lookup::new("SANK.S_SUM").is_nested());
        assert!(Lookup::new("ZL_LIST/ZAP/N_ZAP").is_nested());
        assert!(!Lookup::new("DS1").is_nested());
        assert!(!Lookup::new("YY").is_nested());
        // Every step of a name must be in the filter for it to be looked for.
        let mut filter = NameFilter::default();
        filter.add("SANK");
        assert!(!Lookup::new("SANK.S_SUM").may_be_in(&filter));
        filter.add("s_sum");
        assert!(Lookup::new("SANK.S_SUM").may_be_in(&filter));
        assert!(Lookup::new("sank").may_be_in(&filter));
        assert!(!Lookup::new("ZL_LIST/ZAP/SANK").may_be_in(&filter));
        filter.add("ZAP");
        assert!(Lookup::new("ZL_LIST/ZAP/SANK").may_be_in(&filter));
        assert!(Lookup::new("").may_be_in(&NameFilter::default()));
    }
}
