//! The `yukari` binary: a thin command-line dispatch to the crates that do
//! the work. `yukari up` runs the whole cloud on one machine.

#[macro_use]
mod i18n;
mod account;
mod address;
mod cluster;
mod credentials;
mod data_dir;
mod ebs;
mod image;
mod listen;
mod node;
mod replay;
mod storage_controller;
mod up;

use clap::{CommandFactory, FromArgMatches, Parser, Subcommand};

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
    /// Learn from the event log: audit, usage and invoices, the cloud at
    /// any past moment, diff, verify, rebuild, tail.
    Replay(replay::ReplayArgs),
    /// Manage the clusters (availability zones) of a running cloud.
    #[command(subcommand)]
    Cluster(cluster::ClusterCommand),
    /// Limits on the elastic IPs of a running cloud's accounts.
    #[command(subcommand)]
    Address(address::AddressCommand),
    /// Run a node executor on this host for a controller on another
    /// (`yukari node --controller URL --cluster NAME`), or list the nodes.
    Node(node::NodeArgs),
    /// Run a cluster's storage controller on this host for a controller on
    /// another (`yukari storage --controller URL --cluster NAME --credentials EUCARC`).
    Storage(storage_controller::StorageControllerArgs),
    /// Machine images: bundle, upload to Walrus, register (euca2ools' bundle format)
    #[command(subcommand)]
    Image(image::ImageCommand),
}

/// What is logged unless `YUKARI_LOG` says otherwise: `info`, without
/// s3s's request log, which writes every S3 error answered (a HEAD of a
/// missing key, a bad signature) as an ERROR line, so that any client
/// could flood the log's errors; Walrus logs its own failures.
const DEFAULT_LOG: &str = "info,s3s::ops=off";

fn init_logs(format: &str) {
    let filter = tracing_subscriber::EnvFilter::try_from_env("YUKARI_LOG")
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new(DEFAULT_LOG));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    if format == "json" {
        builder.json().init();
    } else {
        builder.init();
    }
}

fn main() -> std::process::ExitCode {
    let matches = i18n::localize(Cli::command()).get_matches();
    let cli = Cli::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    init_logs(&cli.log_format);
    match run(cli.command) {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(e) => {
            // The error and its causes on one line, in the user's language
            // where Yukari wrote it (causes from the system stay as they are).
            eprintln!("{}: {e:#}", say!("error", "エラー"));
            std::process::ExitCode::FAILURE
        }
    }
}

fn run(command: Commands) -> anyhow::Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build()?;
    match command {
        Commands::Up(args) => runtime.block_on(up::run(args)),
        Commands::Account(command) => runtime.block_on(account::run(command)),
        Commands::Cluster(command) => runtime.block_on(cluster::run(command)),
        Commands::Address(command) => runtime.block_on(address::run(command)),
        Commands::Node(args) => runtime.block_on(node::run(args)),
        Commands::Storage(args) => runtime.block_on(storage_controller::run(args)),
        Commands::Image(command) => runtime.block_on(image::run(command)),
        Commands::Replay(command) => {
            let _guard = runtime.enter();
            replay::run(command)
        }
    }
}
