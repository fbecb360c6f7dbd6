"""The application edge: where a mapping file becomes a running thing, with one plugin registry.

Every command and the public Python API start here (see docs/architecture.md):
:mod:`.loading` reads, lints and compiles a mapping with the one registry it builds
(``--disable-plugin`` honoured); :mod:`.delivery` is the set-up the delivering commands share
(``run``, ``dlq replay``, ``worker``, ``serve``): settings, sinks from that registry, and the loop
inside the state's record of the run. The engine and delivery below are handed what they need and
never build a registry (``tests/test_structure.py``, ``tests/test_app_edge.py``).
"""

from .delivery import Delivering, DeliverySetup, delivering, delivery_setup
from .loading import (
    DISABLE_ENV,
    Loaded,
    compile_mapping,
    disabled_plugins,
    lint_file,
    load,
    load_mapper,
    load_mapping,
    registry_for,
)

__all__ = ["DISABLE_ENV", "Delivering", "DeliverySetup", "Loaded", "compile_mapping", "delivering", "delivery_setup",
           "disabled_plugins", "lint_file", "load", "load_mapper", "load_mapping", "registry_for"]
