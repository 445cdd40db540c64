"""Data Platform: the SHARED layer (`dataplatform.core`) and the platform services (`dataplatform.platform`)."""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("dataplatform")
except PackageNotFoundError:  # running from a source tree that was never installed
    __version__ = "0.0.0+unknown"
