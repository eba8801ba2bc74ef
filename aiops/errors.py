"""The one error tree, sorted by what the caller should do next.

``TemporaryError`` means "try again later" (timeouts, 409, 429, 5xx) and carries a
``retry_after`` hint in seconds; ``PermanentError`` means "retrying will not help"
(403, 404, invalid input). ``ConfigError`` is a permanent error that names the file,
line, column and field of bad configuration or runbook input.
"""

from __future__ import annotations


class AiopsError(Exception):
    """Base of every error aiops raises on purpose."""


class TemporaryError(AiopsError):
    """A failure that may succeed if retried after ``retry_after`` seconds."""

    def __init__(self, message: str, *, retry_after: float = 5.0) -> None:
        super().__init__(message)
        self.retry_after = retry_after


class PermanentError(AiopsError):
    """A failure that retrying will not fix (forbidden, not found, invalid)."""


class Forbidden(PermanentError):
    """The caller is known but may not do this (HTTP 403): e.g. not an approver."""


class NotFound(PermanentError):
    """The thing asked for does not exist (HTTP 404)."""


class Conflict(PermanentError):
    """The thing exists but is not in a state that allows this (HTTP 409)."""


class SourceUnavailable(TemporaryError):
    """A metrics source could not be reached or answered with an error."""


class ConfigError(PermanentError):
    """Invalid configuration or runbook, located as precisely as possible.

    >>> str(ConfigError("unknown action 'reboot'", file="r.yaml", line=7, column=15,
    ...                 field="spec.steps[0].action"))
    "r.yaml:7:15: spec.steps[0].action: unknown action 'reboot'"
    """

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        column: int | None = None,
        field: str | None = None,
    ) -> None:
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.field = field
        super().__init__(self.render())

    def render(self) -> str:
        """Format as ``file:line:column: field: message`` with the parts known."""
        where = ""
        if self.file is not None:
            where = self.file
            if self.line is not None:
                where += f":{self.line}"
                if self.column is not None:
                    where += f":{self.column}"
            where += ": "
        field = f"{self.field}: " if self.field else ""
        return f"{where}{field}{self.message}"


class ConfigErrors(PermanentError):
    """Several configuration errors found in one pass, reported together."""

    def __init__(self, errors: list[ConfigError]) -> None:
        self.errors = errors
        super().__init__("\n".join(e.render() for e in errors))
