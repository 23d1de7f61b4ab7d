//! `medgate bench claims`: generates an OMS claims register package (`HM…zip`, N cases and
//! their personal-data file), then runs the domain path a node's upload will call — the
//! package opened, FLK and MEK streamed over its files — in a child process of its own, so
//! that its peak memory is its own (`VmHWM`, read while the finished child waits on its
//! standard input). In the same run, the ceilings on the extracted main file: our own reader
//! alone (decoding and records, no rules) and `xmllint --stream --noout`. Then the whole path
//! a fund runs: a claims node of its own (`medgate serve --role claims` on a new data folder,
//! set up with the operator's commands, the shipped MEK catalogues installed) and the MO's
//! system pushing the package over mutual TLS with `medgate client claims upload`, timed
//! until the node has concluded FLK + MEK, with the node's peak memory.

use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use clap::Args;
use medgate_claims::generate::{self, Options};
use medgate_claims::spill::ENTRIES_IN_MEMORY;
use medgate_claims::xml::{DecodingReader, Item, RecordReader};
use medgate_claims::{check_package_with_mek, Catalogue, MekSettings, Nsi, Settings};

use super::peak_memory_kib;

/// The targets of the claims issue: FLK + MEK within twice the bare parse, memory flat.
const TARGET_RATIO: f64 = 2.0;
const TARGET_PEAK_BYTES: u64 = 200_000_000;

#[derive(Debug, Args)]
pub struct ClaimsBenchArgs {
    /// Number of cases in the generated package.
    #[arg(long, default_value_t = 100_000)]
    pub cases: u32,
    /// Reporting period of the package, YYYY-MM.
    #[arg(long, default_value = "2025-01")]
    pub period: String,
    /// Keep the generated package and its extracted main file in this folder (by default a
    /// temporary folder, removed at the end).
    #[arg(long, value_name = "DIR")]
    pub keep: Option<PathBuf>,
    /// Keys of each kind (N_ZAP, IDCASE, patients, stays…) kept in memory before the rest
    /// go to a temporary file beside the package; lower it to time that path on a small
    /// package.
    #[arg(long, value_name = "N", default_value_t = ENTRIES_IN_MEMORY)]
    pub keys_in_memory: usize,
}

/// The measured child: checks one package and answers on its standard output.
#[derive(Debug, Args)]
pub struct ClaimsChildArgs {
    /// The package (`HM…zip`).
    file: PathBuf,
    /// The main file's size, to time each pass.
    #[arg(long)]
    main_size: u64,
    /// The personal-data file's size.
    #[arg(long)]
    personal_size: u64,
    /// Keys of each kind kept in memory ([`ClaimsBenchArgs::keys_in_memory`]).
    #[arg(long, default_value_t = ENTRIES_IN_MEMORY)]
    keys_in_memory: usize,
}

/// What the child reports: one JSON line.
#[derive(Debug, serde::Serialize, serde::Deserialize)]
struct ChildReport {
    setup_seconds: f64,
    check_seconds: f64,
    cases: u64,
    patients: u64,
    flk_findings: u64,
    mek_findings: u64,
    mek_cases_checked: u64,
    /// Seconds of each pass, in order: the `L` file's patients, the main file's FLK and
    /// MEK, the `L` file's FLK (and the main file's MEK again, when that FLK refused a
    /// patient).
    passes: Vec<f64>,
    /// Whether keys went to the temporary file.
    keys_on_disk: bool,
}

pub fn run(args: &ClaimsBenchArgs) -> anyhow::Result<ExitCode> {
    let period = crate::commands::claims::parse_period(&args.period)?;
    if args.cases == 0 {
        bail!("--cases must be at least 1");
    }
    let temporary;
    let dir = match &args.keep {
        Some(dir) => {
            std::fs::create_dir_all(dir)
                .with_context(|| format!("cannot create the folder {} (--keep)", dir.display()))?;
            dir.clone()
        }
        None => {
            temporary = tempfile::tempdir().context("temporary folder")?;
            temporary.path().to_owned()
        }
    };
    let exe = std::env::current_exe().context("finding the medgate executable")?;

    // 1. The package.
    let options = Options::new(args.cases, period);
    let name = options.name();
    let package = dir.join(format!("{}.zip", name.main_stem()));
    if package.exists() {
        bail!(
            "{} already exists (--keep names a folder that holds it)",
            package.display()
        );
    }
    eprintln!("generating a package of {} cases…", args.cases);
    let started = Instant::now();
    let file = std::fs::File::create(&package)
        .with_context(|| format!("cannot create {}", package.display()))?;
    generate::write_package(std::io::BufWriter::new(file), &options)?;
    let generation = started.elapsed();

    // 2. Its files, extracted for the ceilings.
    let main = dir.join(format!("{}.xml", name.main_stem()));
    let started = Instant::now();
    let mut archive = zip::ZipArchive::new(std::fs::File::open(&package)?)
        .with_context(|| format!("reading back {}", package.display()))?;
    let main_size = extract(&mut archive, &format!("{}.xml", name.main_stem()), &main)?;
    let personal_size = archive
        .by_name(&format!("{}.xml", name.personal_stem()))
        .map(|entry| entry.size())
        .context("the personal-data file of the generated package")?;
    let extraction = started.elapsed();

    // 3. FLK + MEK in a child process.
    eprintln!("checking it (FLK + MEK) in a child process…");
    let (child, peak_kib, wall) = run_child(
        &exe,
        &package,
        main_size,
        personal_size,
        args.keys_in_memory,
    )?;

    // 4. The ceilings.
    eprintln!("reading the main file with our reader alone, then with xmllint --stream…");
    let (records, reader_time) = bare_read(&main)?;
    if records != child.cases {
        bail!(
            "our reader found {records} records in {}, the check {} cases",
            main.display(),
            child.cases
        );
    }
    let xmllint = xmllint(&main)?;

    // 5. The same package through a real node, over HTTPS.
    eprintln!("uploading it to a claims node of its own (medgate client claims upload)…");
    let node = over_http(&exe, &dir, &package, &args.period)?;

    let mib = |bytes: u64| bytes as f64 / (1024.0 * 1024.0);
    let check = child.check_seconds.max(1e-9);
    println!(
        "medgate bench claims: {} cases, package {}, period {}",
        child.cases,
        package.file_name().and_then(|n| n.to_str()).unwrap_or("?"),
        name.period()
    );
    println!(
        "  path measured:     the package opened, FLK and MEK streamed over its files, in a \
         child process; then the same through a node's API (below)"
    );
    println!(
        "  generation:        {:.2} s (not counted below)",
        generation.as_secs_f64()
    );
    println!(
        "  main file:         {:.1} MiB ({} patients in a personal-data file of {:.1} MiB; \
         unzipped to disk in {:.2} s)",
        mib(main_size),
        child.patients,
        mib(personal_size),
        extraction.as_secs_f64()
    );
    println!(
        "  setup:             {:.2} s (catalogues and books loaded; child wall time {:.2} s)",
        child.setup_seconds,
        wall.as_secs_f64()
    );
    println!("  FLK + MEK:         {check:.2} s");
    if let [patients, main, personal, ..] = child.passes[..] {
        println!(
            "  passes:            {patients:.2} s L file's patients, {main:.2} s main file \
             FLK + MEK, {personal:.2} s L file FLK{}",
            match child.passes.get(3) {
                Some(again) => format!(", {again:.2} s main file MEK again"),
                None => String::new(),
            }
        );
    }
    println!("  cases/s:           {:.0}", child.cases as f64 / check);
    println!(
        "  MiB/s:             {:.1} (of the main file)",
        mib(main_size) / check
    );
    println!(
        "  findings:          {} FLK, {} MEK ({} cases through MEK)",
        child.flk_findings, child.mek_findings, child.mek_cases_checked
    );
    println!(
        "  keys in memory:    at most {} of each kind (N_ZAP, IDCASE, patients, stays…), \
         the rest in a temporary file beside the package: {}",
        args.keys_in_memory,
        if child.keys_on_disk {
            "used"
        } else {
            "not needed at this size"
        }
    );
    match peak_kib {
        Some(kib) => println!(
            "  child peak RSS:    {:.1} MiB (target under 200 MB: {})",
            kib as f64 / 1024.0,
            met(kib * 1024 < TARGET_PEAK_BYTES)
        ),
        None => println!("  child peak RSS:    unknown (no /proc on this system)"),
    }
    println!(
        "  our reader alone:  {:.2} s (the main file decoded and read record by record, no \
         rules; {:.1} MiB/s)",
        reader_time.as_secs_f64(),
        mib(main_size) / reader_time.as_secs_f64().max(1e-9)
    );
    println!(
        "  over HTTPS:        {:.2} s from `client claims upload` to the node's conclusion \
         ({:.0} cases/s; upload, FLK and MEK on a real node; it answered: {})",
        node.seconds,
        child.cases as f64 / node.seconds.max(1e-9),
        node.outcome
    );
    match node.peak_kib {
        Some(kib) => println!(
            "  node peak RSS:     {:.1} MiB (the whole server process; target under 200 MB: {})",
            kib as f64 / 1024.0,
            met(kib * 1024 < TARGET_PEAK_BYTES)
        ),
        None => println!("  node peak RSS:     unknown (no /proc on this system)"),
    }
    match xmllint {
        Xmllint::Read(time) => {
            let ratio = check / time.as_secs_f64().max(1e-9);
            println!(
                "  xmllint --stream:  {:.2} s (libxml2 only reading the main file: the ceiling)",
                time.as_secs_f64()
            );
            let verdict = if ratio <= TARGET_RATIO {
                "met".to_owned()
            } else {
                format!("not met, {:.1}× over it", ratio / TARGET_RATIO)
            };
            println!(
                "  medgate ÷ xmllint: {ratio:.2}× (target at most {TARGET_RATIO:.0}×: {verdict})"
            );
        }
        Xmllint::Missing => println!(
            "  xmllint --stream:  not measured: xmllint is not installed \
             (apt-get install libxml2-utils)"
        ),
    }
    Ok(ExitCode::SUCCESS)
}

fn met(yes: bool) -> &'static str {
    if yes {
        "met"
    } else {
        "not met"
    }
}

/// Copies one entry of the archive to `to`; returns its size.
fn extract(
    archive: &mut zip::ZipArchive<std::fs::File>,
    entry: &str,
    to: &Path,
) -> anyhow::Result<u64> {
    let mut entry = archive
        .by_name(entry)
        .with_context(|| format!("{entry} in the generated package"))?;
    let mut out = std::io::BufWriter::new(
        std::fs::File::create(to).with_context(|| format!("cannot create {}", to.display()))?,
    );
    let size = std::io::copy(&mut entry, &mut out)?;
    out.flush()?;
    Ok(size)
}

/// Starts the child on `package`, reads its report, then its peak memory while it waits,
/// then lets it end. Returns the report, the peak in KiB and the wall time to the report.
fn run_child(
    exe: &Path,
    package: &Path,
    main_size: u64,
    personal_size: u64,
    keys_in_memory: usize,
) -> anyhow::Result<(ChildReport, Option<u64>, Duration)> {
    let started = Instant::now();
    let mut child = Command::new(exe)
        .args(["bench", "claims-child"])
        .arg(package)
        .arg(format!("--main-size={main_size}"))
        .arg(format!("--personal-size={personal_size}"))
        .arg(format!("--keys-in-memory={keys_in_memory}"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("starting the check's child process")?;
    let stdout = child.stdout.take().context("the child's output")?;
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .context("reading the child's report")?;
    let wall = started.elapsed();
    let peak = peak_memory_kib(child.id());
    // Closing its standard input lets the child end.
    drop(child.stdin.take());
    let status = child.wait()?;
    if !status.success() || line.trim().is_empty() {
        bail!("the check's child process failed ({status}); its error is above");
    }
    let report: ChildReport = serde_json::from_str(line.trim())
        .with_context(|| format!("the child's report is not as expected: {line}"))?;
    Ok((report, peak, wall))
}

/// The measured child: loads what `medgate claims check` loads by default, checks the
/// package (FLK then MEK), prints one JSON line, then waits for its standard input to close
/// so that its parent can read its peak memory.
pub fn child(args: &ClaimsChildArgs) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    let catalogues = Catalogue::shipped()?;
    let nsi = Nsi::starter()?;
    let mek_catalogues = Catalogue::shipped_mek()?;
    let settings = Settings {
        catalogues: &catalogues,
        nsi: &nsi,
        max_findings: 100_000,
        keys_in_memory: args.keys_in_memory,
    };
    let mek = MekSettings {
        catalogues: &mek_catalogues,
        paid: None,
    };
    let setup = started.elapsed();
    // The passes end where the progress reaches these (bytes decoded of the three passes,
    // and of the fourth one run when the L file's FLK refused a patient).
    let ends = [
        args.personal_size,
        args.personal_size + args.main_size,
        2 * args.personal_size + args.main_size,
        2 * args.personal_size + 2 * args.main_size,
    ];
    let mut passes = Vec::new();
    let started = Instant::now();
    let mut last = Duration::ZERO;
    let report = check_package_with_mek(&args.file, &settings, &mek, &mut |done, _| {
        while passes.len() < ends.len() && done >= ends[passes.len()] {
            let now = started.elapsed();
            passes.push((now - last).as_secs_f64());
            last = now;
        }
    })?;
    let check = started.elapsed();
    let answer = ChildReport {
        setup_seconds: setup.as_secs_f64(),
        check_seconds: check.as_secs_f64(),
        cases: report.cases,
        patients: report.patients,
        flk_findings: report.total_findings(),
        mek_findings: report.mek.as_ref().map_or(0, |mek| mek.total_findings()),
        mek_cases_checked: report.mek.as_ref().map_or(0, |mek| mek.cases_checked),
        passes,
        keys_on_disk: report.keys_on_disk,
    };
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::to_string(&answer)?)?;
    out.flush()?;
    drop(out);
    let mut rest = Vec::new();
    let _ = std::io::stdin().lock().read_to_end(&mut rest);
    Ok(ExitCode::SUCCESS)
}

/// Our own reader alone on the main file: decoded and read record by record, no rules.
fn bare_read(main: &Path) -> anyhow::Result<(u64, Duration)> {
    let name = main
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("main file");
    let started = Instant::now();
    let file =
        std::fs::File::open(main).with_context(|| format!("cannot open {}", main.display()))?;
    let decoded = DecodingReader::new(file, name)?;
    let mut reader = RecordReader::new(decoded, "ZAP", name);
    let mut records = 0u64;
    while let Some(item) = reader.next_item()? {
        if let Item::Record(_) = item {
            records += 1;
        }
    }
    Ok((records, started.elapsed()))
}

enum Xmllint {
    Read(Duration),
    Missing,
}

/// `xmllint --stream --noout` on the file: the time libxml2 takes only to read it.
fn xmllint(file: &Path) -> anyhow::Result<Xmllint> {
    let started = Instant::now();
    let output = match Command::new("xmllint")
        .args(["--stream", "--noout"])
        .arg(file)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .output()
    {
        Ok(output) => output,
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => return Ok(Xmllint::Missing),
        Err(error) => return Err(error).context("running xmllint"),
    };
    let elapsed = started.elapsed();
    if !output.status.success() {
        bail!(
            "xmllint refused {}: {}",
            file.display(),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(Xmllint::Read(elapsed))
}

/// What the node's run gave.
struct NodeRun {
    seconds: f64,
    outcome: String,
    peak_kib: Option<u64>,
}

/// Runs `medgate` with `args`; its standard output, or the error with what it printed.
fn medgate(exe: &Path, args: &[&std::ffi::OsStr]) -> anyhow::Result<String> {
    let output = Command::new(exe)
        .args(args)
        .output()
        .context("running medgate")?;
    if !output.status.success() {
        bail!(
            "medgate {:?} failed: {}{}",
            args,
            String::from_utf8_lossy(&output.stdout),
            String::from_utf8_lossy(&output.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).into_owned())
}

/// A claims node on a new data folder under `dir`, set up as the fund's operator does (the
/// generated package's MO and insurer, its period open, the shipped MEK catalogues
/// installed, a certificate for the MO's system), serving on a free port; the package pushed
/// with `medgate client claims upload` and timed until the node concluded it; the node's
/// peak memory read before it is stopped.
fn over_http(exe: &Path, dir: &Path, package: &Path, period: &str) -> anyhow::Result<NodeRun> {
    use std::ffi::OsStr;
    let data = dir.join("claims-node");
    let client = dir.join("claims-system");
    let os = |text: &str| OsStr::new(text).to_owned();
    let run = |args: &[&str]| {
        let mut all: Vec<std::ffi::OsString> = args.iter().map(|a| os(a)).collect();
        all.extend([os("--data"), data.clone().into_os_string()]);
        let refs: Vec<&OsStr> = all.iter().map(|a| a.as_os_str()).collect();
        medgate(exe, &refs)
    };
    let mo = Options::new(1, crate::commands::claims::parse_period(period)?).medical_organisation;
    run(&[
        "claims", "mo", "add", "--init", "--code", &mo, "--name", "bench",
    ])?;
    run(&[
        "claims",
        "smo",
        "add",
        "--code",
        generate::INSURER,
        "--name",
        "bench",
    ])?;
    run(&["claims", "period", "open", period])?;
    let nsi = data.join("claims").join("nsi");
    for (name, bytes) in medgate_claims::flk::catalogue::SHIPPED_MEK {
        medgate_claims::nsi::install(&nsi, Path::new(&format!("{name}.xml")), bytes)
            .map_err(|e| anyhow::anyhow!("installing {name}: {e}"))?;
    }
    let p12 = dir.join("claims-system.p12");
    let issued = run(&[
        "claims",
        "mo",
        "certificate",
        "issue",
        "--mo",
        &mo,
        "--out",
        &p12.to_string_lossy(),
    ])?;
    // "PKCS#12 password (shown once): CODE"
    let code = issued
        .split("(shown once):")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .filter(|code| !code.is_empty())
        .with_context(|| format!("no one-time code in: {issued}"))?
        .to_owned();
    let port = std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|listener| listener.local_addr())
        .context("finding a free port")?
        .port();
    let listen = format!("127.0.0.1:{port}");
    let mut server = Command::new(exe)
        .args(["serve", "--role", "claims", "--listen", &listen, "--data"])
        .arg(&data)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .context("starting the claims node")?;
    let result = (|| {
        let ready = Instant::now();
        while std::net::TcpStream::connect(&listen).is_err() {
            if ready.elapsed() > Duration::from_secs(30) {
                bail!("the claims node did not listen on {listen} within 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        let url = format!("https://{listen}");
        let client_args = |more: &[&OsStr]| {
            let mut all: Vec<std::ffi::OsString> = ["client", "claims", "--config-dir"]
                .iter()
                .map(|a| os(a))
                .collect();
            all.push(client.clone().into_os_string());
            all.extend(more.iter().map(|a| a.to_os_string()));
            all
        };
        let setup = client_args(&[
            OsStr::new("setup"),
            OsStr::new("--url"),
            OsStr::new(&url),
            OsStr::new("--p12"),
            p12.as_os_str(),
            OsStr::new("--code"),
            OsStr::new(&code),
        ]);
        medgate(
            exe,
            &setup.iter().map(|a| a.as_os_str()).collect::<Vec<_>>(),
        )?;
        let started = Instant::now();
        let upload = Command::new(exe)
            .args(client_args(&[
                OsStr::new("upload"),
                package.as_os_str(),
                OsStr::new("--period"),
                OsStr::new(period),
            ]))
            .output()
            .context("running medgate client claims upload")?;
        let seconds = started.elapsed().as_secs_f64();
        let printed = String::from_utf8_lossy(&upload.stdout).into_owned();
        // Exit 1 is a package with findings (the generated one has none): still a result.
        if upload.status.code().is_none_or(|code| code > 1) {
            bail!(
                "medgate client claims upload failed: {printed}{}",
                String::from_utf8_lossy(&upload.stderr)
            );
        }
        // Its outcome: the line after the progress ("accepted …", "N findings …").
        let outcome = printed
            .lines()
            .map(str::trim)
            .rfind(|line| {
                line.contains("accepted") || line.contains("finding") || line.contains("refused")
            })
            .unwrap_or_else(|| printed.lines().last().unwrap_or("").trim())
            .to_owned();
        Ok(NodeRun {
            seconds,
            outcome,
            peak_kib: peak_memory_kib(server.id()),
        })
    })();
    let _ = server.kill();
    let _ = server.wait();
    result
}
