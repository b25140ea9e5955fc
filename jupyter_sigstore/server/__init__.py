"""Jupyter Server extension: the authenticated REST API that the JupyterLab extension calls.

Enabled automatically on install (``jupyter-config/jupyter_server_config.d/jupyter_sigstore.json``);
settings are ``c.Sigstore.*`` (see :class:`~jupyter_sigstore.server.config.Sigstore`).
"""

from __future__ import annotations

import threading
from typing import Any

from .config import Sigstore, SigstoreConfig

__all__ = ["Sigstore", "SigstoreConfig", "_jupyter_server_extension_points", "_load_jupyter_server_extension"]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    return [{"module": "jupyter_sigstore.server"}]


def _load_jupyter_server_extension(serverapp: Any) -> None:
    """Register the REST handlers and the in-memory identity broker."""
    from .handlers import handlers
    from .login import IdentityBroker

    config = Sigstore(parent=serverapp)
    broker = IdentityBroker(config, serverapp.log)
    web_app = serverapp.web_app
    web_app.settings["jupyter_sigstore_config"] = config
    web_app.settings["jupyter_sigstore_broker"] = broker
    base_url = web_app.settings["base_url"]
    web_app.add_handlers(".*$", handlers(base_url))
    serverapp.log.info("jupyter-sigstore: REST API at %sjupyter-sigstore/", base_url)
    threading.Thread(
        target=_prepare_verification,
        args=(config, serverapp.log),
        name="jupyter-sigstore-prepare",
        daemon=True,
    ).start()


def _prepare_verification(config: Sigstore, log: Any) -> None:
    """Import the verifier and load the trusted root in the background, so that the first notebook
    opened verifies as fast as the next ones."""
    import time

    from ..errors import first_line
    from ..verifying import prepare

    start = time.monotonic()
    try:
        instance = config.select_instance()
        prepare(instance)
    except Exception as exc:  # e.g. a broken trust config: each verify reports it
        log.warning("jupyter-sigstore: could not prepare verification: %s", first_line(exc))
    else:
        log.info(
            "jupyter-sigstore: verification ready (%s instance, %.1f s)",
            instance.name,
            time.monotonic() - start,
        )
