//! The SDK's error type.

/// Result with [`SdkError`].
pub type Result<T, E = SdkError> = std::result::Result<T, E>;

/// What can go wrong talking to a node.
#[derive(Debug, thiserror::Error)]
pub enum SdkError {
    /// The node answered with an error; `code` is its stable code.
    #[error("node refused ({status} {code}): {message}")]
    Node {
        /// HTTP status.
        status: u16,
        /// The node's stable error code.
        code: String,
        /// The node's message.
        message: String,
    },
    /// The transaction committed, but its call was refused; `code` is the receipt's stable code.
    #[error("transaction {tx} was refused ({code}): {message}")]
    Refused {
        /// The transaction.
        tx: String,
        /// The receipt's code.
        code: String,
        /// The receipt's message.
        message: String,
    },
    /// A proven answer did not verify: the node's answer cannot be trusted.
    #[error("the node's answer does not verify ({code}): {0}", code = .0.code())]
    Unverified(#[from] xinlian_core::proof::ProofError),
    /// The node could not be reached or the connection broke.
    #[error(
        "cannot reach the node: {0}; is it running, and is the node URL (--node, XINLIAN_NODE) right?"
    )]
    Transport(String),
    /// The TLS handshake with the node failed; the text says what to give.
    #[error("TLS with the node failed: {0}")]
    Tls(String),
    /// The client's TLS settings cannot be used (a file that is not PEM, options for an
    /// `http://` URL).
    #[error("TLS settings: {0}")]
    TlsSettings(String),
    /// The node URL is not an `http://` or `https://` URL with a host.
    #[error("\"{0}\" is not a node URL; give one like http://127.0.0.1:8545")]
    BadUrl(String),
    /// The node's answer was not what the API promises.
    #[error("unexpected answer from node: {0}")]
    Decode(String),
    /// A wait ran out before the transaction committed.
    #[error("transaction {tx} was not committed within {secs}s; it may still commit: `xinlian tx get {tx}` tells", tx = .0, secs = .1.as_secs())]
    Timeout(String, std::time::Duration),
    /// A key, signature or value was refused locally.
    #[error(transparent)]
    Core(#[from] xinlian_core::Error),
    /// A file could not be read or written.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: String,
        /// What failed.
        source: std::io::Error,
    },
    /// The operating system's random source failed.
    #[error("random source failed: {0}")]
    Random(String),
}

impl SdkError {
    /// The node's error code, when the node answered with one.
    pub fn node_code(&self) -> Option<&str> {
        match self {
            SdkError::Node { code, .. } | SdkError::Refused { code, .. } => Some(code),
            _ => None,
        }
    }
}
