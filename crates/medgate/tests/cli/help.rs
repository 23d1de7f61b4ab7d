//! What `--help` shows: every option described, and the connection (or node) options under
//! a heading of their own after the command's own options.

use crate::support::run_ok;

/// Every command, depth first, as argument lists (`["client", "search"]`).
fn commands() -> Vec<Vec<String>> {
    let mut found = Vec::new();
    let mut queue = vec![Vec::<String>::new()];
    while let Some(command) = queue.pop() {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run_ok(&args);
        let mut in_commands = false;
        for line in help.lines() {
            if line.starts_with("Commands:") {
                in_commands = true;
                continue;
            }
            if in_commands {
                if line.trim().is_empty() || !line.starts_with("  ") {
                    in_commands = false;
                    continue;
                }
                let name = line.split_whitespace().next().unwrap_or("");
                if line.starts_with("  ") && !line.starts_with("   ") && name != "help" {
                    let mut sub = command.clone();
                    sub.push(name.to_owned());
                    queue.push(sub);
                }
            }
        }
        found.push(command);
    }
    found
}

#[test]
fn every_option_is_described_and_connection_options_come_last() {
    let all = commands();
    assert!(all.len() > 40, "{} commands found", all.len());
    for command in &all {
        let mut args: Vec<&str> = command.iter().map(String::as_str).collect();
        args.push("--help");
        let help = run_ok(&args);
        let lines: Vec<&str> = help.lines().collect();
        for (at, line) in lines.iter().enumerate() {
            let trimmed = line.trim_start();
            if trimmed.starts_with("--json") {
                // Described on the same line, or (clap's long layout) on the next one.
                let next = lines.get(at + 1).copied().unwrap_or("");
                let described = trimmed.split_whitespace().count() > 1
                    || (next.trim().len() > 1 && !next.trim_start().starts_with('-'));
                assert!(described, "medgate {}: --json has no description", command.join(" "));
            }
        }
        if command.first().map(String::as_str) == Some("client") && command.len() > 1 {
            let connection = help.find("\nConnection:").unwrap_or_else(|| {
                panic!("medgate {}: no Connection heading:\n{help}", command.join(" "))
            });
            let own = help.find("\nOptions:").unwrap_or(0);
            assert!(own < connection, "medgate {}: the command's own options come first", command.join(" "));
        }
    }
}
