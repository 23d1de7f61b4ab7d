//! `medgate claims generate` and `medgate claims check`: a clean package passes, a seeded
//! defect exits 1 with its code in the table, the JSON and the `V` protocol (read back by
//! Python's own ZIP and XML readers), package-level refusals name their F012 code, and the
//! generated register is well-formed windows-1251 XML for libxml2.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::support::{run, run_fails, run_ok, temp_dir};

fn generate(dir: &Path, extra: &[&str]) -> PathBuf {
    let out = dir.to_str().unwrap();
    let mut args = vec![
        "claims", "generate", "--cases", "20", "--period", "2025-01", "--out", out,
    ];
    args.extend_from_slice(extra);
    PathBuf::from(run_ok(&args).trim())
}

#[test]
fn a_clean_package_passes_and_counts_its_rules() {
    let dir = temp_dir();
    let package = generate(dir.path(), &[]);
    assert!(
        package.ends_with("HM010001S14002_25011.zip"),
        "{}",
        package.display()
    );
    let protocol = dir.path().join("protocol.zip");
    let out = run_ok(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--protocol",
        protocol.to_str().unwrap(),
    ]);
    assert!(out.contains("read: 20 cases, 20 patients"), "{out}");
    assert!(
        out.contains("rules: 862 loaded (Q015 800, Q022 62)"),
        "{out}"
    );
    assert!(out.contains("FLK: 0 errors"), "{out}");
    let rows = read_protocol(&protocol);
    assert_eq!(rows, ["VHM010001S14002_25011 0", "VLM010001S14002_25011 0"]);

    let json: serde_json::Value = serde_json::from_str(&run_ok(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["errors"], 0);
    let rules = &json["rules"];
    let sum = rules["applied"].as_u64().unwrap()
        + rules["not_interpretable"].as_u64().unwrap()
        + rules["without_book"].as_u64().unwrap();
    assert_eq!(sum, rules["for_files"].as_u64().unwrap(), "{rules}");
    assert!(rules["not_run"]
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["reason"].as_str().unwrap().contains("not understood")));
    // A second package of the same name is not overwritten.
    let error = run_fails(&[
        "claims",
        "generate",
        "--cases",
        "20",
        "--out",
        dir.path().to_str().unwrap(),
    ]);
    assert!(error.contains("already exists"), "{error}");
}

#[test]
fn a_defect_exits_1_with_its_code_in_the_table_json_and_protocol() {
    let dir = temp_dir();
    let package = generate(dir.path(), &["--fault", "bad-dictionary-code"]);
    let protocol = dir.path().join("V.zip");
    let output = run(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--protocol",
        protocol.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    // USL_OK 9 is no code of V006, and P_CEL (only for USL_OK 3) must then be absent.
    assert!(out.contains("FLK: 2 errors"), "{out}");
    assert!(
        out.lines()
            .any(|l| l.starts_with("904") && l.contains("USL_OK") && l.contains("001F.00.0160")),
        "{out}"
    );
    assert!(
        out.lines()
            .any(|l| l.starts_with("904") && l.contains("P_CEL") && l.contains("003F.00.0670")),
        "{out}"
    );
    let rows = read_protocol(&protocol);
    assert_eq!(
        rows,
        [
            "VHM010001S14002_25011 2 | 904 USL_OK Z_SL 2 2 | 904 P_CEL SL 2 2 1",
            "VLM010001S14002_25011 0"
        ],
        "{rows:?}"
    );

    let output = run(&["claims", "check", package.to_str().unwrap(), "--json"]);
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["errors"], 2);
    let usl_ok = json["findings"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["im_pol"] == "USL_OK")
        .unwrap();
    assert_eq!(usl_ok["oshib"], 904);
    assert_eq!(usl_ok["rule"], "001F.00.0160");
    assert_eq!(usl_ok["idcase"], "2");

    let package = generate(
        &dir.path().join("snils").tap_create(),
        &["--fault", "bad-snils"],
    );
    let output = run(&["claims", "check", package.to_str().unwrap()]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("SNILS") && out.contains("check digits"),
        "{out}"
    );
}

#[test]
fn package_refusals_name_their_f012_code() {
    let dir = temp_dir();
    let not_zip = dir.path().join("HM010001S14002_25011.zip");
    std::fs::write(&not_zip, "not a zip").unwrap();
    let protocol = dir.path().join("refused.zip");
    let error = run_fails(&[
        "claims",
        "check",
        not_zip.to_str().unwrap(),
        "--protocol",
        protocol.to_str().unwrap(),
    ]);
    assert!(
        error.contains("F012 801") && error.contains("not a ZIP archive"),
        "{error}"
    );
    let rows = read_protocol(&protocol);
    assert_eq!(rows, ["VHM010001S14002_25011 1 | 801"], "{rows:?}");

    let package = generate(
        &dir.path().join("encoding").tap_create(),
        &["--fault", "invalid-encoding"],
    );
    let error = run_fails(&["claims", "check", package.to_str().unwrap()]);
    assert!(
        error.contains("F012 804") && error.contains("windows-1251"),
        "{error}"
    );

    let renamed = dir.path().join("register.zip");
    std::fs::copy(&package, &renamed).unwrap();
    let error = run_fails(&["claims", "check", renamed.to_str().unwrap()]);
    assert!(
        error.contains("F012 802") && error.contains("register kind"),
        "{error}"
    );

    let missing = dir
        .path()
        .join("missing")
        .tap_create()
        .join("HM010001S14002_2501009.zip");
    let file = std::fs::File::create(&missing).unwrap();
    let mut zip = zip::ZipWriter::new(file);
    zip.start_file(
        "HM010001S14002_2501009.xml",
        zip::write::SimpleFileOptions::default(),
    )
    .unwrap();
    std::io::Write::write_all(&mut zip, b"<ZL_LIST/>").unwrap();
    zip.finish().unwrap();
    let error = run_fails(&["claims", "check", missing.to_str().unwrap()]);
    assert!(
        error.contains("F012 803") && error.contains("LM010001S14002_2501009.xml"),
        "{error}"
    );

    let error = run_fails(&[
        "claims",
        "check",
        dir.path().join("absent.zip").to_str().unwrap(),
    ]);
    assert!(error.contains("absent.zip"), "{error}");
}

#[test]
fn the_generated_register_is_well_formed_windows_1251_for_libxml2() {
    let Some(xmllint) =
        medgate_test_peers::require_command("xmllint", "apt-get install libxml2-utils")
    else {
        return;
    };
    let dir = temp_dir();
    let package = generate(dir.path(), &[]);
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&package).unwrap()).unwrap();
    for (name, expected) in [
        ("HM010001S14002_25011.xml", "14002"),
        ("LM010001S14002_25011.xml", "Петров"),
    ] {
        let path = dir.path().join(name);
        let mut entry = archive.by_name(name).unwrap();
        std::io::copy(&mut entry, &mut std::fs::File::create(&path).unwrap()).unwrap();
        let output = Command::new(&xmllint)
            .args(["--noout", "--encode", "UTF-8"])
            .arg(&path)
            .output()
            .unwrap();
        assert!(
            output.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        let text = Command::new(&xmllint)
            .args(["--xpath", "string(//FAM[1] | //SCHET/PLAT)"])
            .arg(&path)
            .output()
            .unwrap();
        let text = String::from_utf8_lossy(&text.stdout);
        assert_eq!(text.trim(), expected, "{name}");
    }
}

/// `FNAME count | OSHIB IM_POL BAS_EL N_ZAP IDCASE SL_ID | …` of each `V` file, as
/// Python's standard library reads the protocol ZIP.
fn read_protocol(zip: &Path) -> Vec<String> {
    let Some(python) = medgate_test_peers::require_python(
        "zipfile, xml.etree.ElementTree",
        "apt-get install python3",
    ) else {
        return Vec::new();
    };
    let code = r#"
import sys, zipfile, xml.etree.ElementTree as ET
with zipfile.ZipFile(sys.argv[1]) as z:
    for name in sorted(z.namelist()):
        data = z.read(name)
        assert data.startswith(b'<?xml version="1.0" encoding="windows-1251"?>'), name
        root = ET.fromstring(data)
        assert root.tag == 'FLK_P', root.tag
        prs = root.findall('PR')
        line = [root.findtext('FNAME') + ' ' + str(len(prs))]
        for pr in prs:
            line.append(' '.join(pr.findtext(t) for t in ('OSHIB', 'IM_POL', 'BAS_EL', 'N_ZAP', 'IDCASE', 'SL_ID') if pr.findtext(t)))
            assert pr.findtext('COMMENT'), 'a PR without COMMENT'
        print(' | '.join(line))
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(code)
        .arg(zip)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect()
}

trait TapCreate {
    fn tap_create(self) -> Self;
}

impl TapCreate for PathBuf {
    /// The folder, created.
    fn tap_create(self) -> PathBuf {
        std::fs::create_dir_all(&self).unwrap();
        self
    }
}

#[test]
fn the_mek_counts_its_rules_and_finds_each_seeded_fault_with_its_reason_and_sum() {
    let dir = temp_dir();
    let clean = generate(&dir.path().join("clean").tap_create(), &[]);
    let out = run_ok(&["claims", "check", clean.to_str().unwrap()]);
    assert!(
        out.contains("MEK rules: 578 loaded (Q016 314, Q023 264); 555 in force for 2025-01, 261 of another region; 207 for these files: 49 applied, 78 not interpretable, 80 provide no control"),
        "{out}"
    );
    assert!(
        out.contains(
            "MEK: 20 cases checked (0 left out by FLK), 0 findings in 0 cases, 0.00 withheld"
        ),
        "{out}"
    );
    // The rules not run are listed, each with its reason.
    let out = run_ok(&["claims", "check", clean.to_str().unwrap(), "--rules"]);
    assert!(
        out.lines()
            .any(|l| l.starts_with("003K.00.0950") && l.contains("described in words only")),
        "{out}"
    );

    // (fault, F014 code, basis, rule id, element)
    let faults = [
        ("sex-diagnosis", 207, "1.4.4.", "003K.00.0620", "DS1"),
        ("age-diagnosis", 207, "1.4.4.", "003K.00.0590", "DS1"),
        ("same-case-twice", 222, "1.10.2.", "003K.00.0410", "SL"),
        ("sum-mismatch", 208, "1.4.5.", "", "SUM_M"),
        ("case-outside-period", 209, "1.4.6.", "", "DATE_Z_2"),
    ];
    for (fault, code, basis, rule, element) in faults {
        let package = generate(&dir.path().join(fault).tap_create(), &["--fault", fault]);
        let output = run(&["claims", "check", package.to_str().unwrap()]);
        let out = String::from_utf8_lossy(&output.stdout);
        assert_eq!(output.status.code(), Some(1), "{fault}: {out}");
        assert!(out.contains("FLK: 0 errors"), "{fault}: {out}");
        assert!(
            out.contains(
                "MEK: 20 cases checked (0 left out by FLK), 1 finding in 1 case, 501.00 withheld"
            ),
            "{fault}: {out}"
        );
        let row = out
            .lines()
            .find(|l| l.starts_with(&code.to_string()))
            .unwrap_or_else(|| panic!("{fault}: no {code} row in {out}"));
        let cells: Vec<&str> = row.split_whitespace().collect();
        assert_eq!(cells[1], basis, "{fault}: {row}");
        if rule.is_empty() {
            assert_eq!(&cells[2..5], [element, "2", "2"], "{fault}: {row}");
        } else {
            assert_eq!(&cells[2..6], [rule, element, "2", "2"], "{fault}: {row}");
        }
        assert!(row.contains("501.00"), "{fault}: {row}");

        let output = run(&["claims", "check", package.to_str().unwrap(), "--json"]);
        let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
        let mek = &json["mek"];
        assert_eq!(mek["errors"], 1, "{fault}: {mek}");
        assert_eq!(mek["withheld"], "501.00", "{fault}: {mek}");
        let finding = &mek["findings"][0];
        assert_eq!(finding["f014"], code, "{fault}: {finding}");
        assert_eq!(finding["basis"], basis, "{fault}: {finding}");
        assert_eq!(finding["n_zap"], "2", "{fault}: {finding}");
        assert_eq!(finding["idcase"], "2", "{fault}: {finding}");
        assert_eq!(finding["withheld"], "501.00", "{fault}: {finding}");
        if !rule.is_empty() {
            assert_eq!(finding["rule"], rule, "{fault}: {finding}");
        }
    }
}

#[test]
fn cases_paid_earlier_are_found_from_the_keys_of_the_accepted_register() {
    let dir = temp_dir();
    let package = generate(dir.path(), &[]);
    let keys = run_ok(&["claims", "keys", package.to_str().unwrap()]);
    assert_eq!(keys.lines().count(), 20, "{keys}");
    let paid = dir.path().join("paid.txt");
    let second: Vec<&str> = keys.lines().skip(1).take(2).collect();
    std::fs::write(
        &paid,
        format!("# accepted in December\n{}\n", second.join("\n")),
    )
    .unwrap();
    let output = run(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--paid",
        paid.to_str().unwrap(),
    ]);
    let out = String::from_utf8_lossy(&output.stdout);
    assert_eq!(output.status.code(), Some(1), "{out}");
    assert!(
        out.contains("1.10.1. case paid earlier (2 paid case keys)"),
        "{out}"
    );
    assert!(
        out.contains(
            "MEK: 20 cases checked (0 left out by FLK), 2 findings in 2 cases, 1002.50 withheld"
        ),
        "{out}"
    );
    let rows: Vec<&str> = out.lines().filter(|l| l.starts_with("221 ")).collect();
    assert_eq!(rows.len(), 2, "{out}");
    assert!(rows[0].split_whitespace().nth(3) == Some("2"), "{out}");

    let bad = dir.path().join("bad.txt");
    std::fs::write(&bad, "010001;7700000000000001;2025-01-02\n").unwrap();
    let error = run_fails(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--paid",
        bad.to_str().unwrap(),
    ]);
    assert!(
        error.contains("line 1") && error.contains("7 fields"),
        "{error}"
    );

    // Another MEK catalogue is given as a file.
    let q016 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../medgate-claims/catalogues/Q016.xml");
    let out = run_ok(&[
        "claims",
        "check",
        package.to_str().unwrap(),
        "--mek-catalogue",
        q016.to_str().unwrap(),
    ]);
    assert!(out.contains("MEK rules: 314 loaded (Q016 314)"), "{out}");
}

/// An independent peer for the MEK: Python's standard library seeds faults into many cases
/// of a clean package (a pregnancy diagnosis for men, a perinatal one for adults, a tariff off
/// by a rouble, a case moved into the previous month), rewrites the ZIP in windows-1251,
/// and computes from the package and the published Q016 itself which cases the rules refuse;
/// `medgate claims check --json` must report exactly those, with the same F014 codes.
#[test]
fn the_mek_agrees_with_an_independent_python_reading_of_the_catalogue() {
    let Some(python) = medgate_test_peers::require_python(
        "zipfile, xml.etree.ElementTree",
        "apt-get install python3",
    ) else {
        return;
    };
    let dir = temp_dir();
    let clean = {
        let out = dir.path().to_str().unwrap();
        PathBuf::from(
            run_ok(&[
                "claims", "generate", "--cases", "300", "--period", "2025-01", "--out", out,
            ])
            .trim(),
        )
    };
    let faulty = dir
        .path()
        .join("faulty")
        .tap_create()
        .join(clean.file_name().unwrap());
    let q016 = Path::new(env!("CARGO_MANIFEST_DIR")).join("../medgate-claims/catalogues/Q016.xml");
    let code = r#"
import sys, zipfile, datetime, xml.etree.ElementTree as ET
src, dst, catalogue = sys.argv[1], sys.argv[2], sys.argv[3]
zin = zipfile.ZipFile(src)
names = zin.namelist()
main = [n for n in names if n.startswith('HM')][0]
pers = [n for n in names if n.startswith('LM')][0]
zl = ET.fromstring(zin.read(main))
pl = ET.fromstring(zin.read(pers))
people = {p.findtext('ID_PAC'): p for p in pl.findall('PERS')}
d = lambda s: datetime.date.fromisoformat(s)
# Seed faults: every 7th case a pregnancy diagnosis, every 11th a perinatal one, every 13th a
# tariff one rouble low, every 17th the case moved ten days before the period.
for zap in zl.findall('ZAP'):
    n = int(zap.findtext('N_ZAP'))
    z_sl = zap.find('Z_SL'); sl = z_sl.find('SL'); usl = sl.find('USL')
    if n % 7 == 0:
        sl.find('DS1').text = 'O80'; usl.find('DS').text = 'O80'
    elif n % 11 == 0:
        sl.find('DS1').text = 'P07'; usl.find('DS').text = 'P07'
    if n % 13 == 0:
        tarif = sl.find('TARIF'); tarif.text = '%.2f' % (float(tarif.text) - 1)
    if n % 17 == 0:
        day = (datetime.date(2025, 1, 1) - datetime.timedelta(days=10)).isoformat()
        for e in (z_sl.find('DATE_Z_1'), z_sl.find('DATE_Z_2'), sl.find('DATE_1'), sl.find('DATE_2'), usl.find('DATE_IN'), usl.find('DATE_OUT')):
            e.text = day
with zipfile.ZipFile(dst, 'w', zipfile.ZIP_DEFLATED) as zout:
    zout.writestr(pers, zin.read(pers))
    zout.writestr(main, b'<?xml version="1.0" encoding="windows-1251"?>\n' + ET.tostring(zl, encoding='unicode').encode('cp1251'))
# The catalogue's own words: which rule refuses rubric O for W=1, rubric P over an age.
rules = {}
for z in ET.parse(catalogue).getroot().findall('zap'):
    comment, element = z.findtext('COMMENT') or '', (z.findtext('ID_EL') or '').split('/')[-1]
    if element == 'DS1' and 'рубрики О МКБ-10 для W=1' in comment:
        rules['sex'] = z.findtext('ID_TEST')
    if element == 'DS1' and 'рубрики Р МКБ-10 для пациента старше 1 года' in comment:
        rules['age'] = z.findtext('ID_TEST')
expected = set()
for zap in zl.findall('ZAP'):
    n = zap.findtext('N_ZAP'); z_sl = zap.find('Z_SL'); sl = z_sl.find('SL')
    person = people[zap.find('PACIENT').findtext('ID_PAC')]
    ds1 = sl.findtext('DS1'); start = d(sl.findtext('DATE_1')); born = d(person.findtext('DR'))
    age = start.year - born.year - ((start.month, start.day) < (born.month, born.day))
    if ds1.startswith('O') and person.findtext('W') == '1':
        expected.add(('207', rules['sex'], n))
    if ds1.startswith('P') and age >= 1:
        expected.add(('207', rules['age'], n))
    kop = lambda s: round(float(s) * 100)
    if kop(sl.findtext('TARIF')) * kop(sl.findtext('ED_COL')) // 100 != kop(sl.findtext('SUM_M')):
        expected.add(('208', '', n))
    if d(z_sl.findtext('DATE_Z_2')) < datetime.date(2025, 1, 1):
        expected.add(('209', '', n))
for line in sorted(expected):
    print(' '.join(line))
"#;
    let output = Command::new(python)
        .arg("-c")
        .arg(code)
        .arg(&clean)
        .arg(&faulty)
        .arg(&q016)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let expected: Vec<String> = String::from_utf8_lossy(&output.stdout)
        .lines()
        .map(str::to_owned)
        .collect();
    assert!(expected.len() > 60, "{expected:?}");

    let output = run(&["claims", "check", faulty.to_str().unwrap(), "--json"]);
    assert_eq!(output.status.code(), Some(1));
    let json: serde_json::Value = serde_json::from_slice(&output.stdout).unwrap();
    assert_eq!(json["errors"], 0, "FLK: {}", json["findings"]);
    let mut found: Vec<String> = json["mek"]["findings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|f| {
            format!(
                "{} {} {}",
                f["f014"],
                f["rule"].as_str().unwrap_or(""),
                f["n_zap"].as_str().unwrap()
            )
            .replace("  ", " ")
        })
        .collect();
    found.sort();
    let mut expected: Vec<String> = expected.into_iter().map(|l| l.replace("  ", " ")).collect();
    expected.sort();
    assert_eq!(found, expected);
}

/// `medgate bench claims` on a small package: every figure line is there, the child's
/// figures are read back, and xmllint's ceiling is measured (or its absence said with the
/// install hint). The shape only; timings belong to the benchmark, not to tests.
#[test]
fn the_claims_benchmark_runs_end_to_end_on_a_small_package() {
    let dir = temp_dir();
    let keep = dir.path().join("kept");
    let out = run_ok(&[
        "bench",
        "claims",
        "--cases",
        "200",
        "--period",
        "2025-02",
        "--keep",
        keep.to_str().unwrap(),
    ]);
    assert!(
        out.contains(
            "medgate bench claims: 200 cases, package HM010001S14002_25021.zip, period 2025-02"
        ),
        "{out}"
    );
    // The same package through a node of the bench's own, pushed by `client claims upload`
    // and concluded accepted by the node.
    assert!(
        out.lines().any(|line| line.contains("over HTTPS:")
            && line.contains("it answered: package 1")
            && line.contains("200 cases")
            && line.contains("accepted")),
        "{out}"
    );
    assert!(
        out.contains("findings:          0 FLK, 0 MEK (200 cases through MEK)"),
        "{out}"
    );
    for label in [
        "generation:",
        "main file:",
        "setup:",
        "FLK + MEK:",
        "passes:",
        "cases/s:",
        "MiB/s:",
        "child peak RSS:",
        "our reader alone:",
        "node peak RSS:",
        "xmllint --stream:",
    ] {
        assert!(
            out.contains(&format!("  {label}")),
            "{label} missing from:\n{out}"
        );
    }
    assert!(out.contains("(target under 200 MB: met)"), "{out}");
    if out.contains("xmllint is not installed") {
        assert!(out.contains("apt-get install libxml2-utils"), "{out}");
    } else {
        assert!(out.contains("medgate ÷ xmllint:"), "{out}");
    }
    assert!(keep.join("HM010001S14002_25021.zip").is_file());
    assert!(keep.join("HM010001S14002_25021.xml").is_file());

    // The same folder again: the package there is not overwritten.
    let error = run_fails(&[
        "bench",
        "claims",
        "--cases",
        "5",
        "--period",
        "2025-02",
        "--keep",
        keep.to_str().unwrap(),
    ]);
    assert!(error.contains("already exists"), "{error}");
    // The ingest benchmark keeps its flags without a subcommand, and they do not mix.
    let output = run(&["bench", "--documents", "1", "claims"]);
    assert_eq!(output.status.code(), Some(2), "{output:?}");
    assert!(
        String::from_utf8_lossy(&output.stderr).contains("cannot be used with"),
        "{output:?}"
    );
}
