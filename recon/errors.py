"""The one error tree of recon.

Every error that stops a run derives from :class:`ReconError` and carries what the
user needs to fix the cause (a path, a file:line, a URL, an attribute). The CLI maps
any of them to exit code 2 and one line on stderr::

    ReconError
    ├── UsageError          a bad option, name or combination of options
    ├── ConfigError         recon.toml is missing a key, has a wrong type, or names a secret inline
    ├── InputError          a file or table that cannot be read as what it claims to be
    │   └── ImportRejected  resources that failed validation (first problems listed)
    ├── DataNotFound        an export, findings or manifest that is not on disk
    ├── SqlFileError        a sql/ file whose header and body disagree
    ├── FilterSyntaxError   a SCIM filter that does not parse (with the position)
    └── ScimError           a SCIM server that answered badly or could not be reached
"""

from __future__ import annotations

__all__ = [
    "ConfigError",
    "DataNotFound",
    "FilterSyntaxError",
    "ImportRejected",
    "InputError",
    "ReconError",
    "ScimError",
    "SqlFileError",
    "UsageError",
]


class ReconError(Exception):
    """Base of every error that stops a recon run (exit code 2)."""


class UsageError(ReconError):
    """A command was called with options that cannot work together or a bad name."""


class ConfigError(ReconError):
    """recon.toml (or an option standing in for it) is wrong."""


class InputError(ReconError):
    """An input file or table cannot be read as what it claims to be."""


class ImportRejected(InputError):
    """Resources failed validation during import; ``problems`` lists them (first 20 shown)."""

    def __init__(self, message: str, problems: list[str]) -> None:
        self.problems = problems
        shown = "; ".join(problems[:20])
        more = f" (and {len(problems) - 20} more)" if len(problems) > 20 else ""
        super().__init__(f"{message}: {shown}{more}")


class DataNotFound(ReconError):
    """An export, findings table or manifest that a command needs is not on disk."""


class SqlFileError(ReconError):
    """A file in sql/ whose header does not match its body (parameters, inputs)."""


class FilterSyntaxError(ReconError):
    """A SCIM filter that does not parse; ``position`` is the 0-based offset of the problem."""

    def __init__(self, message: str, filter_text: str, position: int) -> None:
        self.filter_text = filter_text
        self.position = position
        super().__init__(f"{message} at position {position} in filter {filter_text!r}")


class ScimError(ReconError):
    """A SCIM server answered with something recon cannot use, or could not be reached."""

    def __init__(
        self,
        message: str,
        *,
        url: str | None = None,
        status: int | None = None,
        scim_type: str | None = None,
    ) -> None:
        self.url = url
        self.status = status
        self.scim_type = scim_type
        where = f" ({url})" if url else ""
        super().__init__(f"{message}{where}")
