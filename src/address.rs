//! `yukari address set-limit N`: how many elastic IPs each account of a
//! running cloud may hold at once (the admin account has no limit),
//! through its admin API with the admin credentials of the data
//! directory's eucarc.

use crate::cluster::admin_client;
use std::path::PathBuf;

#[derive(clap::Subcommand, Debug)]
pub enum AddressCommand {
    /// Set how many elastic IPs each account may hold at once (EC2's default: 5).
    SetLimit {
        /// Elastic IPs per account; 0 lets no account but the admin's allocate one.
        per_account: u32,
        /// The cloud's data directory (its eucarc has the admin's key).
        #[arg(long, default_value = "yukari-data")]
        data_dir: PathBuf,
    },
}

pub async fn run(command: AddressCommand) -> anyhow::Result<()> {
    match command {
        AddressCommand::SetLimit { per_account, data_dir } => {
            let client = admin_client(&data_dir.join("eucarc"))?;
            let query = format!("per_account={per_account}");
            client.call("POST", "/admin/addresses/limit", &query, Vec::new()).await?;
            println!(
                "{}",
                say!(
                    "each account may now hold {per_account} elastic IP(s) (the admin account: any number)",
                    "各アカウントが持てる Elastic IP を {per_account} 個にしました(admin アカウントは無制限)"
                )
            );
        }
    }
    Ok(())
}
