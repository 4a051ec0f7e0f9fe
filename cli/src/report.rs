//! How the command ends: what it prints on stdout, how an error reads, and the exit code.
//!
//! Exit codes (README, "Exit codes"):
//! - 0: done, and any verdict asked for is acceptable;
//! - 1: an error: nothing was done, or the command could not finish (the message says which);
//! - 2: the command line itself is wrong (clap's usage errors);
//! - 3: the command worked and the answer is negative: a licence that is not acceptable, a
//!   transaction that committed with a failure receipt, a proposal that was refused. Scripts
//!   around `xinlian license verify` must not let such answers through.
//!
//! Output goes through [`out`] (the `outln!` macro), which turns a closed pipe into a quiet
//! stop: `xinlian testnet status | head -2` ends without a panic or a message.

use std::fmt;
use std::io::Write;
use std::process::ExitCode;

/// The answer was obtained and is negative; the message says what it was.
#[derive(Debug)]
pub(crate) struct NotAcceptable(pub(crate) String);

impl fmt::Display for NotAcceptable {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for NotAcceptable {}

/// Exit code of a negative answer (see the module docs).
pub(crate) const EXIT_NOT_ACCEPTABLE: u8 = 3;

/// Writes one line to stdout; a reader that went away (`| head`) is an error the caller
/// propagates with `?` and [`finish`] ends quietly.
pub(crate) fn out(line: fmt::Arguments<'_>) -> std::io::Result<()> {
    let mut stdout = std::io::stdout().lock();
    stdout.write_fmt(line)?;
    stdout.write_all(b"\n")
}

/// `println!` that does not panic on a closed pipe: `outln!(...)?`.
macro_rules! outln {
    ($($arg:tt)*) => {
        $crate::report::out(format_args!($($arg)*))
    };
}

/// The error as one line: each cause once. Libraries often repeat their source in their own
/// message (`File exists (os error 17): File exists (os error 17)`); a cause already contained
/// in what was printed is left out.
pub(crate) fn render(error: &anyhow::Error) -> String {
    let mut text = String::new();
    for cause in error.chain() {
        let message = cause.to_string();
        let message = message.trim();
        if message.is_empty() || text.contains(message) {
            continue;
        }
        if !text.is_empty() {
            text.push_str(": ");
        }
        text.push_str(message);
    }
    text
}

/// Prints the outcome and turns it into the exit code.
pub(crate) fn finish(result: anyhow::Result<()>) -> ExitCode {
    let Err(error) = result else {
        return ExitCode::SUCCESS;
    };
    if is_broken_pipe(&error) {
        return ExitCode::SUCCESS;
    }
    if let Some(answer) = error.downcast_ref::<NotAcceptable>() {
        eprintln!("not acceptable: {answer}");
        return ExitCode::from(EXIT_NOT_ACCEPTABLE);
    }
    // A transaction that committed with a failure receipt: the command worked, the chain said no.
    if error.chain().any(|cause| {
        matches!(
            cause.downcast_ref(),
            Some(xinlian_sdk::SdkError::Refused { .. })
        )
    }) {
        eprintln!("error: {}", render(&error));
        return ExitCode::from(EXIT_NOT_ACCEPTABLE);
    }
    eprintln!("error: {}", render(&error));
    ExitCode::FAILURE
}

fn is_broken_pipe(error: &anyhow::Error) -> bool {
    error.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

#[cfg(test)]
mod tests {
    use anyhow::Context;

    use super::*;

    #[test]
    fn a_cause_repeated_by_its_wrapper_is_printed_once() {
        let io = std::io::Error::from(std::io::ErrorKind::AlreadyExists);
        let inner = io.to_string();
        let error = anyhow::Error::new(io)
            .context(inner.clone())
            .context("writing alice.pem");
        assert_eq!(render(&error), format!("writing alice.pem: {inner}"));
    }

    #[test]
    fn distinct_causes_are_all_printed_in_order() {
        let error: anyhow::Result<()> = Err(anyhow::anyhow!("connection refused"));
        let error = error
            .context("cannot reach the node at http://127.0.0.1:1")
            .unwrap_err();
        assert_eq!(
            render(&error),
            "cannot reach the node at http://127.0.0.1:1: connection refused"
        );
    }

    #[test]
    fn a_closed_pipe_ends_quietly_and_a_negative_answer_exits_3() {
        let pipe = anyhow::Error::new(std::io::Error::from(std::io::ErrorKind::BrokenPipe));
        assert_eq!(finish(Err(pipe)), ExitCode::SUCCESS);
        let refused = anyhow::Error::new(NotAcceptable("licence revoked".into()));
        assert_eq!(finish(Err(refused)), ExitCode::from(EXIT_NOT_ACCEPTABLE));
    }
}
