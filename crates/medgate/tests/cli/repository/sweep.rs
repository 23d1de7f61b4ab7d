//! Content that a crash left without metadata is removed while the node runs, once it is
//! older than the grace period by its own write time; stored documents are never touched.

use std::path::{Path, PathBuf};
use std::time::{Duration, SystemTime};

use super::harness::{eventually, Backend, Node};

fn orphan(content: &Path, key: &str, age: Duration) -> PathBuf {
    let folder = content.join(&key[0..2]).join(&key[2..4]);
    std::fs::create_dir_all(&folder).expect("content folder");
    let path = folder.join(key);
    std::fs::write(&path, b"<ClinicalDocument/> left by a crash").expect("orphan written");
    std::fs::File::options()
        .write(true)
        .open(&path)
        .and_then(|f| f.set_modified(SystemTime::now() - age))
        .expect("mtime set");
    path
}

#[test]
fn orphans_are_swept_while_the_node_runs() {
    let settings = crate::support::temp_dir();
    let config = settings.path().join("medgate.toml");
    std::fs::write(&config, "orphan_sweep_seconds = 1\norphan_grace_seconds = 3\n").expect("config");
    let Some(node) = Node::start_with(Backend::Sqlite, &["--config", &config.to_string_lossy()]) else {
        return;
    };
    let clinic = node.enroll("0000000000006030", 20, 100);
    let document = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/cli/fixtures/cda-discharge-pesel.xml");
    clinic.run_ok(&["put", &document.to_string_lossy()]);
    let content = node.data.join("content");

    // Written an hour ago (a crash before a restart): gone at the next sweep.
    let old = orphan(&content, "00aa00aa00aa00aa00aa00aa00aa00aa", Duration::from_secs(3600));
    // Written just now (as an upload in flight would be): kept while younger than the grace
    // period, then removed.
    let fresh = orphan(&content, "00bb00bb00bb00bb00bb00bb00bb00bb", Duration::ZERO);
    assert!(eventually(Duration::from_secs(5), || !old.exists()), "the old orphan is still there");
    assert!(fresh.exists(), "a fresh orphan was removed inside its grace period");
    assert!(eventually(Duration::from_secs(8), || !fresh.exists()), "the fresh orphan outlived its grace period");

    // The stored document is intact.
    let out = clinic.path("back.xml");
    clinic.run_ok(&["get", "2.16.840.1.113883.3.4424.2.7.26.7.1^MG-0001", "--out", &out]);
    assert_eq!(std::fs::read(&out).expect("fetched"), std::fs::read(&document).expect("fixture"));
}
