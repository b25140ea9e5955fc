"""pytest-jupyter's server fixtures, for the tests in this folder only, and SeaweedFS for the tests of
remote outputs.

They are star-imported here (not listed in a root ``pytest_plugins``) so that their event-loop
hooks do not reach the browser tests, whose Playwright sync API they would break.
"""

from objstore_fixtures import *  # noqa: F403
from pytest_jupyter.jupyter_server import *  # noqa: F403
