//! `?`-friendly results for contract methods: a step fails either with a refusal (recorded in the
//! receipt) or with an execution failure (which stops the block).

use crate::{ContractError, ExecError};

/// Why a step stopped.
pub(crate) enum Fail {
    /// The call is refused; the receipt carries the code.
    Refused(ContractError),
    /// State could not be read; the block stops.
    Exec(ExecError),
}

impl From<ContractError> for Fail {
    fn from(e: ContractError) -> Self {
        Fail::Refused(e)
    }
}

impl From<ExecError> for Fail {
    fn from(e: ExecError) -> Self {
        Fail::Exec(e)
    }
}

/// A contract step.
pub(crate) type Step<T> = Result<T, Fail>;

/// The executor's shape of a call's outcome.
pub(crate) fn finish(result: Step<()>) -> Result<Result<(), ContractError>, ExecError> {
    match result {
        Ok(()) => Ok(Ok(())),
        Err(Fail::Refused(e)) => Ok(Err(e)),
        Err(Fail::Exec(e)) => Err(e),
    }
}

/// An `invalid_argument` refusal.
pub(crate) fn invalid(field: &'static str, reason: &str) -> Fail {
    ContractError::InvalidArgument {
        field,
        reason: reason.to_string(),
    }
    .into()
}

/// Checks a text argument's length (see [`crate::system::check_text`]).
pub(crate) fn text(field: &'static str, value: &str, min: usize, max: usize) -> Step<()> {
    crate::system::check_text(field, value, min, max).map_err(Fail::from)
}
