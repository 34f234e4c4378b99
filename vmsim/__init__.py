"""vmsim: a virtual-memory simulator for OS courses, policy authors and ML-systems engineers."""

from vmsim.errors import VmsimError

__version__ = "0.1.0"
__all__ = ["VmsimError", "__version__"]
