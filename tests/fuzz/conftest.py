"""The fixtures of the D-Bus integration tests (tests/integration/
conftest.py: private system bus, mock polkit, umockdev testbed, the real
daemon), for dbus_fuzz.py.  Loaded under a name of its own: both files are
"conftest" to pytest."""

import importlib.util
import os
import sys

_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(_HERE, '..', 'integration'))
_spec = importlib.util.spec_from_file_location(
    'hostdevd_integration_conftest', os.path.join(_HERE, '..', 'integration', 'conftest.py'))
integration = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = integration
_spec.loader.exec_module(integration)

system_bus = integration.system_bus
polkit = integration.polkit
testbed = integration.testbed
state_dir = integration.state_dir
daemon = integration.daemon
