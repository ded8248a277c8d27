"""overflight: make aerial surveillance visible and verifiable from flight-tracking data."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("overflight")
except PackageNotFoundError:  # pragma: no cover - running from a source tree
    __version__ = "0.0.0"

__all__ = ["__version__"]
