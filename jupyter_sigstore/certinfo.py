"""What a Fulcio signing certificate says about its holder: identity, issuer, CI workflow claims.

Each claim is read from the extension Fulcio documents for it (its ``docs/oid-info.md``):
``1.3.6.1.4.1.57264.1.1``-``.1.6`` hold raw UTF-8 bytes (the deprecated GitHub-specific ones),
``.1.8`` and later a DER UTF8String. When a claim has both a current and a legacy extension,
the current one is read and the legacy one must agree with it; if they disagree the claim is
left out, so a policy that requires it is not met (fail closed).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

_FULCIO = "1.3.6.1.4.1.57264.1."
_OIDC_ISSUER_V1 = _FULCIO + "1"
_OIDC_ISSUER_V2 = _FULCIO + "8"

#: Where the repository URI must point for the short ``repository = "owner/name"`` claim.
GITHUB_SERVER = "https://github.com/"

#: CI claims, as named in reports and policies: (current DER extension, legacy raw extension).
CLAIM_EXTENSIONS: dict[str, tuple[str | None, str | None]] = {
    "repository": (None, _FULCIO + "5"),  # owner/name; see _repository()
    "ref": (_FULCIO + "14", _FULCIO + "6"),
    "sha": (_FULCIO + "13", _FULCIO + "3"),
    "trigger": (_FULCIO + "20", _FULCIO + "2"),
    "workflow": (None, _FULCIO + "4"),  # the workflow's name; legacy only
    "repository_uri": (_FULCIO + "12", None),
    "repository_id": (_FULCIO + "15", None),
    "repository_owner_uri": (_FULCIO + "16", None),
    "repository_owner_id": (_FULCIO + "17", None),
    "repository_visibility": (_FULCIO + "22", None),
    "build_signer_uri": (_FULCIO + "9", None),
    "build_signer_digest": (_FULCIO + "10", None),
    "runner_environment": (_FULCIO + "11", None),
    "build_config_uri": (_FULCIO + "18", None),
    "build_config_digest": (_FULCIO + "19", None),
    "run_invocation_uri": (_FULCIO + "21", None),
    "deployment_environment": (_FULCIO + "23", None),
}


@dataclass(frozen=True)
class SignerIdentity:
    """The signer as a certificate names it. ``github`` holds the CI claims under the names a
    policy's ``github = { ... }`` table uses, so a value shown in a report can be pasted into one."""

    identity: str
    issuer: str
    github: dict[str, str] = field(default_factory=dict)


def _raw_value(cert: x509.Certificate, oid: str) -> bytes | None:
    try:
        ext = cert.extensions.get_extension_for_oid(ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    return value.value if isinstance(value, x509.UnrecognizedExtension) else None


def _der_utf8(raw: bytes) -> bytes | None:
    """The content of a DER UTF8String that is exactly ``raw``; None for anything else."""
    if len(raw) < 2 or raw[0] != 0x0C:
        return None
    length, offset = raw[1], 2
    if length & 0x80:
        count = length & 0x7F
        if count == 0 or count > 4 or len(raw) < 2 + count:
            return None
        length = int.from_bytes(raw[2 : 2 + count], "big")
        offset = 2 + count
    if offset + length != len(raw):
        return None
    return raw[offset:]


def _text(cert: x509.Certificate, oid: str | None, der: bool) -> str | None:
    if oid is None:
        return None
    raw = _raw_value(cert, oid)
    if raw is not None and der:
        raw = _der_utf8(raw)
    if raw is None:
        return None
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def repository_from_uri(uri: str) -> str | None:
    """``owner/name`` from ``https://github.com/owner/name``; None for any other URI."""
    if not uri.startswith(GITHUB_SERVER):
        return None
    short = uri[len(GITHUB_SERVER) :]
    parts = short.split("/")
    if len(parts) != 2 or not all(_is_github_name(part) for part in parts):
        return None
    return short


def _is_github_name(part: str) -> bool:
    return part not in ("", ".", "..") and all(c.isascii() and (c.isalnum() or c in "-_.") for c in part)


def _repository(cert: x509.Certificate) -> tuple[str | None, bool]:
    """The ``owner/name`` claim and whether the certificate's extensions disagree about it.

    The Source Repository URI (.1.12) decides; it must be ``https://github.com/owner/name`` and
    agree with the legacy GitHub Workflow Repository (.1.5) when both are present. A URI on any
    other server gives no short name at all, whatever the legacy extension says.
    """
    uri = _text(cert, CLAIM_EXTENSIONS["repository_uri"][0], der=True)
    legacy = _text(cert, CLAIM_EXTENSIONS["repository"][1], der=False)
    if uri is None:
        return legacy, False
    short = repository_from_uri(uri)
    return short, short is None or (legacy is not None and legacy != short)


def _claims(cert: x509.Certificate) -> dict[str, str]:
    claims: dict[str, str] = {}
    for claim, (current, legacy) in CLAIM_EXTENSIONS.items():
        if claim == "repository":
            value, conflict = _repository(cert)
        else:
            new_value = _text(cert, current, der=True)
            old_value = _text(cert, legacy, der=False)
            conflict = new_value is not None and old_value is not None and new_value != old_value
            value = new_value if new_value is not None else old_value
        if value is not None and not conflict:
            claims[claim] = value
    return claims


def signer_identity(cert: x509.Certificate) -> SignerIdentity:
    """Read the SAN identity, the OIDC issuer and any CI workflow claims from a certificate."""
    identity = ""
    try:
        san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
        names = san.get_values_for_type(x509.RFC822Name) or san.get_values_for_type(
            x509.UniformResourceIdentifier
        )
        if names:
            identity = names[0]
        else:
            others = san.get_values_for_type(x509.OtherName)
            if others:
                identity = others[0].value.decode("utf-8", "replace")
    except x509.ExtensionNotFound:
        pass
    issuer = _text(cert, _OIDC_ISSUER_V2, der=True) or _text(cert, _OIDC_ISSUER_V1, der=False)
    return SignerIdentity(identity, issuer or "", _claims(cert))
