"""Test certificate authorities: the Fulcio-like code-signing CA and the TSA's PKI."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from .ctlog import CTLog

LEAF_LIFETIME = timedelta(minutes=10)
_CA_LIFETIME = timedelta(days=3650)
_BACKDATE = timedelta(days=1)

IssuedKey = ec.EllipticCurvePublicKey


def utc_now() -> datetime:
    """The current UTC time truncated to whole seconds (what X.509 can carry)."""
    return datetime.now(timezone.utc).replace(microsecond=0)


def _name(common_name: str, organization: str) -> x509.Name:
    return x509.Name(
        [
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
            x509.NameAttribute(NameOID.COMMON_NAME, common_name),
        ]
    )


def _ski(key: ec.EllipticCurvePublicKey) -> x509.SubjectKeyIdentifier:
    return x509.SubjectKeyIdentifier.from_public_key(key)


class _Authority:
    """A signing key with its certificate."""

    def __init__(self, key: ec.EllipticCurvePrivateKey, cert: x509.Certificate) -> None:
        self.key = key
        self.cert = cert

    def aki(self) -> x509.AuthorityKeyIdentifier:
        return x509.AuthorityKeyIdentifier.from_issuer_subject_key_identifier(_ski(self.key.public_key()))


def _make_ca(common_name: str, organization: str, parent: _Authority | None, path_length: int) -> _Authority:
    key = ec.generate_private_key(ec.SECP256R1())
    now = utc_now()
    subject = _name(common_name, organization)
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(parent.cert.subject if parent else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - _BACKDATE)
        .not_valid_after(now + _CA_LIFETIME)
        .add_extension(x509.BasicConstraints(ca=True, path_length=path_length), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=False,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                key_cert_sign=True,
                crl_sign=True,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(_ski(key.public_key()), critical=False)
    )
    if parent is not None:
        builder = builder.add_extension(parent.aki(), critical=False)
    signer = parent.key if parent else key
    return _Authority(key, builder.sign(signer, hashes.SHA256()))


def _leaf_key_usage() -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=False,
        crl_sign=False,
        encipher_only=False,
        decipher_only=False,
    )


class FulcioCA:
    """A root (and by default an intermediate) issuing Fulcio-profile leaf certificates.

    ``legacy_github_extensions`` says whether certificates for GitHub Actions tokens also carry
    the deprecated GitHub-specific extensions (1.3.6.1.4.1.57264.1.2-.1.6) next to the generic
    ones, as Fulcio issues them today; set it to False for certificates without them.
    """

    def __init__(
        self, ctlog: CTLog, *, intermediate: bool = True, legacy_github_extensions: bool = True
    ) -> None:
        self.ctlog = ctlog
        self.legacy_github_extensions = legacy_github_extensions
        self.root = _make_ca("sigstore-test-root", "jupyter-sigstore test", None, 1)
        self.issuer = (
            _make_ca("sigstore-test-intermediate", "jupyter-sigstore test", self.root, 0)
            if intermediate
            else self.root
        )

    @property
    def chain(self) -> list[x509.Certificate]:
        """Issuer chain, from the leaf's issuer up to the root."""
        if self.issuer is self.root:
            return [self.root.cert]
        return [self.issuer.cert, self.root.cert]

    def issue(
        self,
        public_key: IssuedKey,
        san: x509.GeneralName,
        extensions: Sequence[x509.ExtensionType],
    ) -> x509.Certificate:
        """Issue a leaf with Fulcio's profile and one embedded precertificate SCT."""
        now = utc_now()
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([]))
            .issuer_name(self.issuer.cert.subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now)
            .not_valid_after(now + LEAF_LIFETIME)
            .add_extension(_leaf_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CODE_SIGNING]), critical=False)
            .add_extension(_ski(public_key), critical=False)
            .add_extension(self.issuer.aki(), critical=False)
            .add_extension(x509.SubjectAlternativeName([san]), critical=True)
        )
        for extension in extensions:
            builder = builder.add_extension(extension, critical=False)
        # The SCT signs the TBS certificate without the SCT list extension: build that
        # first, then the final certificate with the same fields plus the SCT list.
        precert = builder.sign(self.issuer.key, hashes.SHA256())
        sct = self.ctlog.sct_extension(precert.tbs_certificate_bytes, self.issuer.key.public_key())
        cert = builder.add_extension(sct, critical=False).sign(self.issuer.key, hashes.SHA256())
        if cert.tbs_precertificate_bytes != precert.tbs_certificate_bytes:
            raise RuntimeError("precertificate TBS mismatch")  # pragma: no cover
        return cert


class TimestampPKI:
    """A self-signed TSA root and the timestamping leaf it certifies."""

    def __init__(self) -> None:
        self.root = _make_ca("sigstore-test-tsa-root", "jupyter-sigstore test", None, 0)
        self.key = ec.generate_private_key(ec.SECP256R1())
        now = utc_now()
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(_name("sigstore-test-tsa", "jupyter-sigstore test"))
            .issuer_name(self.root.cert.subject)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - _BACKDATE)
            .not_valid_after(now + _CA_LIFETIME)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_leaf_key_usage(), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .add_extension(_ski(self.key.public_key()), critical=False)
            .add_extension(self.root.aki(), critical=False)
            .sign(self.root.key, hashes.SHA256())
        )

    @property
    def chain(self) -> list[x509.Certificate]:
        """Leaf first, root last (the order a trusted root lists them)."""
        return [self.cert, self.root.cert]
