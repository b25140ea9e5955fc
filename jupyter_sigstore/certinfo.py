"""What a Fulcio signing certificate says about its holder: identity, issuer, CI workflow claims."""

from __future__ import annotations

from dataclasses import dataclass, field

from cryptography import x509
from cryptography.x509.oid import ObjectIdentifier

_OIDC_ISSUER_V1 = ObjectIdentifier("1.3.6.1.4.1.57264.1.1")
_OIDC_ISSUER_V2 = ObjectIdentifier("1.3.6.1.4.1.57264.1.8")

#: GitHub workflow claims: (new DER-encoded extension, legacy raw extension).
_GITHUB_CLAIMS = {
    "trigger": ("1.3.6.1.4.1.57264.1.20", "1.3.6.1.4.1.57264.1.2"),
    "sha": ("1.3.6.1.4.1.57264.1.13", "1.3.6.1.4.1.57264.1.3"),
    "workflow": (None, "1.3.6.1.4.1.57264.1.4"),
    "repository": ("1.3.6.1.4.1.57264.1.16", "1.3.6.1.4.1.57264.1.5"),
    "ref": ("1.3.6.1.4.1.57264.1.14", "1.3.6.1.4.1.57264.1.6"),
}


@dataclass(frozen=True)
class SignerIdentity:
    """The signer as a certificate names it."""

    identity: str
    issuer: str
    github: dict[str, str] = field(default_factory=dict)


def _extension_text(cert: x509.Certificate, oid: str, der: bool) -> str | None:
    try:
        ext = cert.extensions.get_extension_for_oid(ObjectIdentifier(oid))
    except x509.ExtensionNotFound:
        return None
    value = ext.value
    raw = value.value if isinstance(value, x509.UnrecognizedExtension) else b""
    if der:
        # DER UTF8String: tag 0x0c, then a short or long length
        if len(raw) < 2 or raw[0] != 0x0C:
            return None
        length = raw[1]
        offset = 2
        if length & 0x80:
            n = length & 0x7F
            length = int.from_bytes(raw[2 : 2 + n], "big")
            offset = 2 + n
        raw = raw[offset : offset + length]
    try:
        return raw.decode("utf-8")
    except UnicodeDecodeError:
        return None


def signer_identity(cert: x509.Certificate) -> SignerIdentity:
    """Read the SAN identity, the OIDC issuer and any GitHub workflow claims from a certificate."""
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
    issuer = _extension_text(cert, _OIDC_ISSUER_V2.dotted_string, der=True) or _extension_text(
        cert, _OIDC_ISSUER_V1.dotted_string, der=False
    )
    github = {}
    for claim, (new, legacy) in _GITHUB_CLAIMS.items():
        value = (_extension_text(cert, new, der=True) if new else None) or _extension_text(
            cert, legacy, der=False
        )
        if value is not None:
            github[claim] = value
    return SignerIdentity(identity, issuer or "", github)
