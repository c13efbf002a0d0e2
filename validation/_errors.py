"""validation's errors, derived from the shared base."""

from targets import AutoTinyMLError

__all__ = ["ValidationError", "ToolchainError", "NotDeployableError"]


class ValidationError(AutoTinyMLError):
    """Base class of the validation package's errors."""


class ToolchainError(ValidationError, RuntimeError):
    """The converter or interpreter refused the model."""


class NotDeployableError(ValidationError, ValueError):
    """Export stopped because the measured model does not fit the target; nothing was written."""

    def __init__(self, message: str, report: dict):
        super().__init__(message)
        self.report = report
