"""jupyter-sigstore: sign Jupyter notebooks and their data outputs with Sigstore, verify provenance.

The public API lives in :mod:`jupyter_sigstore.api`; this module stays light so that the CLI starts fast.
The version has one source, ``labextension/package.json``; ``__version__`` reads the installed metadata.
"""

from __future__ import annotations


def __getattr__(name: str) -> str:
    if name == "__version__":
        from importlib.metadata import version

        return version("jupyter-sigstore")
    raise AttributeError(f"module 'jupyter_sigstore' has no attribute {name!r}")


def load_ipython_extension(ipython: object) -> None:
    """``%load_ext jupyter_sigstore``: register the ``%sigstore`` magics (imported only now)."""
    from .kernel import load_ipython_extension as _load

    _load(ipython)


def unload_ipython_extension(ipython: object) -> None:
    """``%unload_ext jupyter_sigstore``."""
    from .kernel import unload_ipython_extension as _unload

    _unload(ipython)


def _jupyter_labextension_paths() -> list[dict[str, str]]:
    """Where the built JupyterLab extension lives (for ``jupyter labextension develop``)."""
    return [{"src": "labextension", "dest": "jupyter-sigstore"}]


def _jupyter_server_extension_points() -> list[dict[str, str]]:
    """The Jupyter Server extension (its REST API): ``jupyter_sigstore.server``."""
    return [{"module": "jupyter_sigstore.server"}]
