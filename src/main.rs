//! The `yukari` binary: a thin command-line dispatch to the crates that do
//! the work. `yukari up` runs the whole cloud on one machine.

mod account;
mod credentials;
mod up;

use clap::{Parser, Subcommand};
use std::path::PathBuf;

#[derive(Parser)]
#[command(name = "yukari", version, about = "Yukari: an EC2/EBS/S3-compatible private cloud on an event log")]
struct Cli {
    /// Log format on standard error.
    #[arg(long, global = true, default_value = "text", value_parser = ["text", "json"])]
    log_format: String,
    #[command(subcommand)]
    command: Commands,
}

#[derive(Subcommand)]
enum Commands {
    /// Run the whole cloud on this machine: controller, one cluster, one node.
    Up(up::UpArgs),
    /// Manage accounts of a running cloud (through its Euare API, with the
    /// admin credentials of the data directory).
    #[command(subcommand)]
    Account(account::AccountCommand),
    /// Learn from the event log: verify it (more tools follow).
    #[command(subcommand)]
    Replay(ReplayCommand),
}

#[derive(Subcommand)]
enum ReplayCommand {
    /// Check every record's checksum, positions, stream versions, decoding
    /// and the read-model snapshot; exits non-zero with a report otherwise.
    /// Works on the data directory of a stopped controller.
    Verify {
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
}

fn replay(command: ReplayCommand) -> anyhow::Result<()> {
    match command {
        ReplayCommand::Verify { data_dir } => {
            let path = data_dir.join("events.redb");
            if !path.exists() {
                anyhow::bail!("no event log at {}", path.display());
            }
            let offline = replay_tools::Offline::open(&data_dir)?;
            let checks = replay_tools::verify::Checks {
                live: replay_tools::verify::LiveModels::from_snapshot_file(
                    &data_dir.join("projections.snapshot"),
                )?,
                snapshots: None,
                stream_index: true,
            };
            let report = replay_tools::verify::verify(&offline, checks, &replay_tools::Progress::hidden())?;
            print!("{report}");
            drop(offline);
            if !report.ok() {
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YUKARI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    init_logs(&cli.log_format);
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match cli.command {
        Commands::Up(args) => runtime.block_on(up::run(args)),
        Commands::Account(command) => runtime.block_on(account::run(command)),
        Commands::Replay(command) => {
            let _guard = runtime.enter();
            replay(command)
        }
    }
}
