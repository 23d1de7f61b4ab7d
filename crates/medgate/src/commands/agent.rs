//! `medgate agent`: the archiving agent at the clinic. Reads `agent.toml`, prints one line per
//! action on stdout, and either watches the outbox until Ctrl-C/SIGTERM or, with `--once`,
//! makes one pass and exits with a status a scheduler can act on. The work is done by
//! `medgate-agent`.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Args;
use medgate_agent::{Agent, AgentConfig};

#[derive(Debug, Args)]
pub struct AgentArgs {
    /// agent.toml: [client] connection settings (the keys of client.toml) and [agent]
    /// outbox, state_dir, poll_seconds, attachment_oid_root, type_map (see examples/agent.toml).
    #[arg(long)]
    pub config: PathBuf,
    /// Process what is in the outbox now and exit: status 0 when everything was uploaded or
    /// is deferred or skipped by policy, 1 when something was rejected or still waits for
    /// the repository (unreachable, full, refusing).
    #[arg(long)]
    pub once: bool,
}

pub fn run(args: AgentArgs) -> anyhow::Result<ExitCode> {
    let config = AgentConfig::load(&args.config)?;
    let runtime = tokio::runtime::Runtime::new()?;
    runtime.block_on(async {
        let mut agent = Agent::new(config)?;
        agent.on_action(|action| println!("{action}"));
        if args.once {
            let report = agent.run_once().await?;
            println!("{}", report.summary());
            return Ok(if report.needs_attention() {
                ExitCode::from(1)
            } else {
                ExitCode::SUCCESS
            });
        }
        let config = agent.config();
        println!(
            "watching {} every {} s (state in {}); Ctrl-C to stop",
            config.outbox.display(),
            config.poll_interval.as_secs(),
            config.state_dir.display()
        );
        agent.run(super::serve::shutdown_signal()).await?;
        println!("stopped");
        Ok(ExitCode::SUCCESS)
    })
}
