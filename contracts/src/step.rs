//! `?`-friendly results for contract methods: a step fails either with a refusal (recorded in the
//! receipt) or with an execution failure (which stops the block).

use xinlian_core::limits::TEXT_BYTES_MAX;

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
    argument(field, reason).into()
}

/// An `invalid_argument` error, for the stateless checks that admission shares with execution
/// (see [`crate::check_bounds`]): they return a plain [`ContractError`], not a [`Fail`].
pub(crate) fn argument(field: &'static str, reason: &str) -> ContractError {
    ContractError::InvalidArgument {
        field,
        reason: reason.to_string(),
    }
}

/// Checks a `reason` argument: 1 to `TEXT_BYTES_MAX` bytes. One rule for every call that takes
/// a reason (dispose, regulators' orders, licence changes, seal revocation, grant uses), shared
/// by execution and admission.
pub(crate) fn check_reason(reason: &str) -> Result<(), ContractError> {
    crate::system::check_text("reason", reason, 1, TEXT_BYTES_MAX)
}
