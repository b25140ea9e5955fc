"""Where a token or the client id comes from without a sign-in flow: the environment, ambient CI
credentials, or a file or stdin named on the command line (so a token need not sit in the process list).
"""

from __future__ import annotations

import os
import stat
import sys
from typing import TextIO

from ..errors import IdentityError
from .tokens import DEFAULT_CLIENT_ID

ENV_TOKEN = "SIGSTORE_ID_TOKEN"
ENV_CLIENT_ID = "JUPYTER_SIGSTORE_OIDC_CLIENT_ID"
#: Environment variables whose presence means a CI system can hand out an identity token.
AMBIENT_MARKERS = (
    "ACTIONS_ID_TOKEN_REQUEST_URL",
    "GOOGLE_SERVICE_ACCOUNT_NAME",
    "BUILDKITE",
    "GITLAB_CI",
    "CIRCLECI",
)
#: An ID token is a few kilobytes at most; a file longer than this (in characters) is not one.
MAX_TOKEN_BYTES = 64 * 1024


def configured_client_id() -> str:
    """The OAuth client id for the CLI and the kernel: ``$JUPYTER_SIGSTORE_OIDC_CLIENT_ID``, else
    ``sigstore``."""
    return os.environ.get(ENV_CLIENT_ID, "").strip() or DEFAULT_CLIENT_ID


def ambient_available() -> bool:
    """A cheap check, without network, for ``$SIGSTORE_ID_TOKEN`` or a CI system's token source."""
    return bool(os.environ.get(ENV_TOKEN) or any(os.environ.get(name) for name in AMBIENT_MARKERS))


def unattended_token(client_id: str = DEFAULT_CLIENT_ID) -> tuple[str, str] | None:
    """A raw token available without asking anyone, with where it came from: ``$SIGSTORE_ID_TOKEN``,
    else ambient CI credentials requested for ``client_id`` (GitHub Actions, GitLab, Buildkite, cloud
    metadata...), else None."""
    env = os.environ.get(ENV_TOKEN)
    if env:
        return env, f"${ENV_TOKEN}"

    from sigstore.oidc import IdentityError as SigstoreIdentityError
    from sigstore.oidc import detect_credential

    try:
        ambient = detect_credential(client_id)
    except SigstoreIdentityError as exc:
        raise IdentityError(f"ambient CI credentials were found but unusable: {exc}") from None
    return (ambient, "ambient CI credentials") if ambient else None


def _read_capped(stream: TextIO, where: str) -> str:
    text = stream.read(MAX_TOKEN_BYTES + 1)
    if len(text) > MAX_TOKEN_BYTES:
        raise IdentityError(f"{where} is longer than {MAX_TOKEN_BYTES} characters: not an identity token")
    token = text.strip()
    if not token:
        raise IdentityError(f"{where} is empty: no identity token in it")
    return token


def read_token_file(path: str, *, stdin: TextIO | None = None) -> str:
    """The token in the file ``path`` (``-``: stdin), stripped. Only a regular file is read (a FIFO or a
    device would hang or never end), at most 64 Ki characters; errors name the file, never its content."""
    if path == "-":
        return _read_capped(stdin if stdin is not None else sys.stdin, "stdin")
    where = f"identity token file {path}"
    try:
        # O_NONBLOCK: opening a FIFO must not wait for a writer; the type check below refuses it
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    except OSError as exc:
        raise IdentityError(f"cannot read the {where}: {exc.strerror or type(exc).__name__}") from None
    try:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise IdentityError(f"the {where} is not a regular file")
        with os.fdopen(fd, encoding="utf-8", errors="strict", closefd=False) as stream:
            try:
                return _read_capped(stream, f"the {where}")
            except UnicodeDecodeError:
                raise IdentityError(f"the {where} is not text: no identity token in it") from None
    finally:
        os.close(fd)


def read_token_argument(value: str, *, stdin: TextIO | None = None) -> tuple[str, str]:
    """A token option's value -> (token, where it came from): ``@PATH`` reads the file, ``-`` or ``@-``
    reads stdin, anything else is the token itself (which the process list shows: prefer a file)."""
    if value == "-" or value.startswith("@"):
        path = value[1:] if value.startswith("@") else value
        if not path:
            raise IdentityError("give a file after @ (@PATH), or - for stdin")
        return read_token_file(path, stdin=stdin), ("stdin" if path == "-" else f"the file {path}")
    token = value.strip()
    if not token:
        raise IdentityError("the identity token given is empty")
    return token, "--identity-token"
