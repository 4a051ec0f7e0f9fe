//! `xinlian console`: the regulator's console from the command line. A member's key signs the
//! node's challenge (as the page does in the browser), then the figures behind a page are read
//! in that session.

use anyhow::Result;
use clap::{Subcommand, ValueEnum};
use serde_json::Value;

use crate::cli::Signer;
use crate::commands::{print_json, read_key};

#[derive(Subcommand, Debug)]
pub(crate) enum ConsoleCommand {
    /// Log in and print the session (member, organisation, view, end) and its cookie, for
    /// `curl -H "Cookie: …"` against /v1/console/ for the next 30 minutes.
    ///
    /// Example: xinlian console login --key .xinlian-testnet/keys/org0-admin-sm2.pem
    Login {
        #[command(flatten)]
        signer: Signer,
    },
    /// Log in and print one page's figures as JSON.
    ///
    /// Example: xinlian console show coldchain --key org0-admin-sm2.pem --days 14
    Show {
        /// Which page.
        page: ConsolePage,
        #[command(flatten)]
        signer: Signer,
        /// Days back, today included (1 to 92).
        #[arg(long, default_value_t = 30)]
        days: u32,
    },
}

/// A console page whose figures `show` prints.
#[derive(Clone, Copy, Debug, ValueEnum)]
pub(crate) enum ConsolePage {
    Overview,
    Coldchain,
    Licences,
    Auth,
    Blocks,
}

pub(crate) async fn run(command: ConsoleCommand) -> Result<()> {
    match command {
        ConsoleCommand::Login { signer } => {
            let client = signer.node.client()?;
            let login = client.console_login(&read_key(&signer.key)?).await?;
            print_json(&serde_json::json!({
                "session": login.session,
                "cookie": login.cookie,
            }))
        }
        ConsoleCommand::Show { page, signer, days } => {
            let client = signer.node.client()?;
            let login = client.console_login(&read_key(&signer.key)?).await?;
            let path = match page {
                ConsolePage::Overview => format!("overview?days={days}"),
                ConsolePage::Coldchain => format!("coldchain?days={days}"),
                ConsolePage::Licences => format!("licences?days={days}"),
                ConsolePage::Auth => format!("auth?days={days}"),
                ConsolePage::Blocks => "blocks".to_string(),
            };
            print_json(&client.console_get::<Value>(&login, &path).await?)
        }
    }
}
