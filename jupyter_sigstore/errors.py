"""The one error hierarchy of jupyter-sigstore.

Every error carries a message a user can act on. Surfaces (CLI, magics, REST API) print ``str(err)``
and never a traceback for these.
"""

from __future__ import annotations


class SigstoreNotebookError(Exception):
    """Base class for every error jupyter-sigstore raises on purpose."""


class UsageError(SigstoreNotebookError):
    """The caller asked for something that cannot be done as asked (bad flags, unsafe paths)."""


class NotebookError(SigstoreNotebookError):
    """A notebook could not be read, parsed or written."""


class OutputError(SigstoreNotebookError):
    """A data output could not be read or hashed."""


class BundleError(SigstoreNotebookError):
    """A Sigstore bundle or signature block is malformed or does not belong here."""


class IdentityError(SigstoreNotebookError):
    """No usable OIDC identity token could be obtained (missing, malformed, expired)."""


class SigningError(SigstoreNotebookError):
    """Signing failed (Fulcio, Rekor or TSA refused or could not be reached)."""


class TrustConfigError(SigstoreNotebookError):
    """A trust root or client trust config is missing, malformed or unusable."""


class PolicyError(SigstoreNotebookError):
    """A trust policy is malformed."""


class KeyFileError(SigstoreNotebookError):
    """A local signing or verification key is missing, malformed, of an unsupported type, or locked."""
