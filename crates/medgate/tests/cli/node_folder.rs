//! The operator's commands work on an existing node's data folder: run in a folder where no
//! node was ever started they refuse, naming the folder, instead of quietly making a second,
//! empty node there; `--init` prepares one on purpose.

use crate::support::{path, run_fails, run_ok, temp_dir};

#[test]
fn operator_commands_refuse_a_folder_without_a_node_unless_init() {
    let dir = temp_dir();
    let data = path(dir.path(), "medgate-data");
    let create = [
        "tenant", "create", "--data", &data, "--id", "0000000000005010", "--valid-from",
        "2026-01-01", "--valid-to", "2027-06-30", "--quota-mb", "200", "--max-files", "100",
    ];
    let refused = run_fails(&create);
    assert!(
        refused.contains("there is no medgate node in") && refused.contains("--init"),
        "{refused}"
    );
    assert!(!dir.path().join("medgate-data").exists(), "nothing was created");
    let operator = run_fails(&["operator", "user", "list", "--data", &data]);
    assert!(operator.contains("there is no medgate node in"), "{operator}");

    // On purpose: the database is made, and the folder is a node's from then on.
    let mut init = create.to_vec();
    init.push("--init");
    assert!(run_ok(&init).contains("created account 0000000000005010"));
    let listed = run_ok(&["tenant", "list", "--data", &data]);
    assert!(listed.contains("0000000000005010"), "{listed}");
}
