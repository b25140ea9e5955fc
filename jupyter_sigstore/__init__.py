"""jupyter-sigstore: sign Jupyter notebooks and their data outputs with Sigstore, verify provenance.

The public API lives in :mod:`jupyter_sigstore.api`; this module stays light so that the CLI starts fast.
"""

__version__ = "0.1.0"
