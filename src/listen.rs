//! What every listener of this process lives with: the open-file limit
//! raised as far as it goes, and the connection limits of `api::serve`
//! (docs/adr/0010-connection-limits.md).

use api::serve::Limits;
use std::time::Duration;

/// `yukari up`'s connection flags.
#[derive(clap::Args, Debug)]
pub struct ConnectionArgs {
    /// Connections each listener keeps open at most; at the cap a new
    /// connection closes the one idle the longest [default: a quarter of the
    /// open-file limit, at most 10000]
    #[arg(long)]
    pub max_connections: Option<usize>,
    /// Seconds a client has to send a whole request head (also the longest
    /// a connection stays idle between requests, and the longest pause in a
    /// request body)
    #[arg(long, default_value_t = Limits::HEADER_TIMEOUT.as_secs())]
    pub header_timeout_secs: u64,
}

impl ConnectionArgs {
    /// The limits asked for, the defaults for `files` open files where none.
    pub fn limits(&self, files: u64) -> Limits {
        let defaults = Limits::for_file_limit(files);
        Limits {
            max_connections: self.max_connections.unwrap_or(defaults.max_connections).max(1),
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
        }
    }
}

/// Raises the soft limit of open files to the hard one (every connection
/// is a file) and returns the limit now in force.
pub fn raise_file_limit() -> u64 {
    use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
    let limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    // No hard limit (not on Linux, where it is at most fs.nr_open): keep
    // the soft one, since "unlimited" is refused.
    let Some(hard) = limit.maximum else { return soft };
    if soft >= hard {
        return soft;
    }
    match setrlimit(Resource::Nofile, Rlimit { current: Some(hard), maximum: Some(hard) }) {
        Ok(()) => {
            tracing::debug!(from = soft, to = hard, "open-file limit raised");
            hard
        }
        Err(e) => {
            tracing::warn!(limit = soft, error = %e, "cannot raise the open-file limit");
            soft
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        connections: ConnectionArgs,
    }

    fn limits(args: &[&str], files: u64) -> Limits {
        let cli = Cli::try_parse_from(std::iter::once("yukari").chain(args.iter().copied())).unwrap();
        cli.connections.limits(files)
    }

    #[test]
    fn flags_override_the_defaults_of_the_file_limit() {
        assert_eq!(limits(&[], 1024), Limits::for_file_limit(1024));
        let asked = limits(&["--max-connections", "50", "--header-timeout-secs", "3"], 1024);
        assert_eq!(asked, Limits { max_connections: 50, header_timeout: Duration::from_secs(3) });
    }

    #[test]
    fn the_soft_file_limit_is_raised_to_the_hard_one() {
        use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};
        let hard = getrlimit(Resource::Nofile).maximum.expect("a hard open-file limit on Linux");
        // Lowering the soft limit a little is always allowed.
        let lower = hard.min(4096) - 1;
        setrlimit(Resource::Nofile, Rlimit { current: Some(lower), maximum: Some(hard) }).unwrap();
        assert_eq!(getrlimit(Resource::Nofile).current, Some(lower));
        assert_eq!(raise_file_limit(), hard);
        assert_eq!(getrlimit(Resource::Nofile).current, Some(hard));
    }
}
