"""One exception hierarchy for overflight.

Every error names what was wrong and what was expected, and, for input
problems, the file and the record (line number or byte offset).
"""

from __future__ import annotations

from os import PathLike


class OverflightError(Exception):
    """Base class of every error overflight raises on purpose."""


class InputError(OverflightError, ValueError):
    """A file or record that cannot be read.

    Parameters
    ----------
    message
        What was wrong and what was expected.
    path
        The file, when known.
    record
        Where in the file: ``"line 12"`` or ``"byte 4096"``.
    """

    def __init__(
        self,
        message: str,
        path: str | PathLike[str] | None = None,
        record: str | None = None,
    ) -> None:
        self.path = None if path is None else str(path)
        self.record = record
        self.reason = message
        where = ", ".join(x for x in (self.path, record) if x)
        super().__init__(f"{where}: {message}" if where else message)


class DecodeError(InputError):
    """A raw Mode S frame or stream that cannot be decoded."""


class FormatError(InputError):
    """A file whose format is not recognised or does not match its reader."""


class MappingError(InputError):
    """A column mapping that does not fit the file it is applied to."""


class BoundaryError(InputError):
    """A boundary file that cannot be used (geometry, CRS, missing ISO code)."""


class StoreError(OverflightError):
    """A problem with the DuckDB store."""


class ManifestError(OverflightError):
    """A manifest that does not match the files it describes."""
