//! The console's signed login and reads from a program or the CLI: the member's key signs the
//! node's one-time challenge, and the session cookie the node sets goes with every read of
//! `/v1/console/…` (the figures behind the console's pages; see `docs/console.md`).

use serde::de::DeserializeOwned;
use xinlian_core::api::console::{ConsoleSession, LoginChallenge, LoginRequest};
use xinlian_core::crypto::PrivateKey;

use crate::client::{Client, transport};
use crate::{Result, SdkError};

/// A console session: who it is for, and the cookie that carries it.
#[derive(Clone, Debug)]
pub struct ConsoleLogin {
    /// The member, its organisation, its view and when the session ends.
    pub session: ConsoleSession,
    /// `xinlian_console=…`, to send as the `Cookie` header (it is a bearer secret for 30
    /// minutes: keep it out of logs).
    pub cookie: String,
}

impl Client {
    /// Logs in to the node's console as `key`'s member.
    pub async fn console_login(&self, key: &PrivateKey) -> Result<ConsoleLogin> {
        let asked = self
            .http_client()
            .post(self.url("/v1/console/challenge"))
            .send()
            .await
            .map_err(transport)?;
        let challenge: LoginChallenge = Client::answer(asked).await?;
        let request = LoginRequest {
            public_key: key.public_key(),
            signature: key.sign(challenge.message.as_bytes()),
            challenge: challenge.challenge,
        };
        let response = self
            .http_client()
            .post(self.url("/v1/console/login"))
            .json(&request)
            .send()
            .await
            .map_err(transport)?;
        let cookie = response
            .headers()
            .get(reqwest::header::SET_COOKIE)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| value.split(';').next())
            .map(str::to_string);
        let session: ConsoleSession = Client::answer(response).await?;
        let cookie = cookie.ok_or_else(|| {
            SdkError::Decode("the node logged in without setting its session cookie".into())
        })?;
        Ok(ConsoleLogin { session, cookie })
    }

    /// A console read, `path` under `/v1/console/` (e.g. `overview?days=14`), in `login`'s
    /// session.
    pub async fn console_get<T: DeserializeOwned>(
        &self,
        login: &ConsoleLogin,
        path: &str,
    ) -> Result<T> {
        let response = self
            .http_client()
            .get(self.url(&format!("/v1/console/{}", path.trim_start_matches('/'))))
            .header(reqwest::header::COOKIE, &login.cookie)
            .send()
            .await
            .map_err(transport)?;
        Client::answer(response).await
    }
}
