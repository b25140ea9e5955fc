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


class PolicyNotApprovedError(PolicyError):
    """A project policy file was found but the user has not approved this exact file: its real
    ``path`` and current ``sha256`` are what an approval must name."""

    def __init__(self, message: str, path: str, sha256: str) -> None:
        super().__init__(message)
        self.path = path
        self.sha256 = sha256


class KeyFileError(SigstoreNotebookError):
    """A local signing or verification key is missing, malformed, of an unsupported type, or locked."""


class ExecutionError(SigstoreNotebookError):
    """A notebook could not be executed: its kernel is missing, died or hung, a cell raised, or an
    input is missing or changed."""


class UntrustedNotebookError(SigstoreNotebookError):
    """``reproduce`` refused to execute a notebook that does not verify against the policy."""


def first_line(exc: BaseException) -> str:
    """The first line of a third-party exception's text (its type name if it has none)."""
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def validation_summary(exc: BaseException) -> str:
    """One line for a (pydantic) validation error: where the first problem is and what it is;
    any other exception gives its :func:`first_line`."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            details = errors()
            first = details[0]
            where = ".".join(str(part) for part in first.get("loc", ())) or "document"
            more = f" (and {len(details) - 1} more problems)" if len(details) > 1 else ""
            return f"{where}: {first.get('msg')}{more}"
        except (IndexError, KeyError, TypeError, AttributeError):
            pass
    return first_line(exc)
