//! `medgate completions SHELL` and `medgate man --out DIR`: the shell completions and the
//! manual pages, generated from the same clap definitions that parse the command line, so
//! the packages (and a user without one) get them from the binary itself.

use std::path::PathBuf;
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, CommandFactory};

#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell to complete for: bash, zsh, fish, elvish or powershell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

#[derive(Debug, Args)]
pub struct ManArgs {
    /// Folder to write the pages into (created if missing): medgate.1 and one page for each
    /// command, such as medgate-serve.1 and medgate-pki-csr.1; existing pages of those
    /// names are replaced.
    #[arg(long, value_name = "DIR")]
    pub out: PathBuf,
}

/// Prints the completion script of a shell on standard output.
pub fn completions(args: CompletionsArgs) -> anyhow::Result<ExitCode> {
    let mut command = crate::Cli::command();
    let mut script = Vec::new();
    clap_complete::generate(args.shell, &mut command, "medgate", &mut script);
    // Printed with `print!`, so a reader that closes early (`| head`) ends it quietly as
    // every other command's output does.
    print!("{}", String::from_utf8_lossy(&script));
    Ok(ExitCode::SUCCESS)
}

/// Writes the manual pages (section 1, roff) and prints how many it wrote and where.
pub fn man(args: ManArgs) -> anyhow::Result<ExitCode> {
    std::fs::create_dir_all(&args.out)
        .with_context(|| format!("{}: the folder cannot be created", args.out.display()))?;
    let mut command = crate::Cli::command().disable_help_subcommand(true);
    command.build();
    let written = write_pages(command, &args.out)
        .with_context(|| format!("{}: the manual pages cannot be written", args.out.display()))?;
    println!("{written} manual pages in {}", args.out.display());
    Ok(ExitCode::SUCCESS)
}

/// One page for `command` and one for each of its visible subcommands, depth first (as
/// `clap_mangen::generate_to` does); returns how many pages were written.
fn write_pages(command: clap::Command, out: &std::path::Path) -> std::io::Result<usize> {
    let mut written = 0;
    for sub in command
        .get_subcommands()
        .filter(|sub| !sub.is_hide_set())
        .cloned()
    {
        written += write_pages(sub, out)?;
    }
    clap_mangen::Man::new(command).generate_to(out)?;
    Ok(written + 1)
}
