"""Whom to trust: trusted signers (exact or anchored-regex identity and issuer, CI claims) and
which of them must have signed."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from .certinfo import SignerIdentity
from .errors import PolicyError


def _compile(pattern: str, what: str, name: str) -> re.Pattern[str]:
    try:
        return re.compile(pattern)
    except re.error as exc:
        raise PolicyError(f"trusted signer {name!r}: {what} {pattern!r} does not compile: {exc}") from exc


@dataclass(frozen=True)
class TrustedSigner:
    """One trusted signer. Exact strings match exactly; regexes must match the whole value."""

    name: str
    identity: str | None = None
    identity_regex: str | None = None
    issuer: str | None = None
    issuer_regex: str | None = None
    github: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_regex is None):
            raise PolicyError(f"trusted signer {self.name!r}: give exactly one of identity, identity_regex")
        if (self.issuer is None) == (self.issuer_regex is None):
            raise PolicyError(f"trusted signer {self.name!r}: give exactly one of issuer, issuer_regex")
        for pattern, what in ((self.identity_regex, "identity_regex"), (self.issuer_regex, "issuer_regex")):
            if pattern is not None:
                _compile(pattern, what, self.name)

    def matches(self, signer: SignerIdentity) -> bool:
        """True when the certificate's identity, issuer and every listed CI claim match."""
        if not _match(signer.identity, self.identity, self.identity_regex):
            return False
        if not _match(signer.issuer, self.issuer, self.issuer_regex):
            return False
        return all(signer.github.get(k) == v for k, v in self.github.items())

    def describe(self) -> str:
        """A short human description, e.g. ``alice@example.com (https://accounts.google.com)``."""
        who = self.identity if self.identity is not None else f"/{self.identity_regex}/"
        issuer = self.issuer if self.issuer is not None else f"/{self.issuer_regex}/"
        return f"{who} ({issuer})"


def _match(value: str, exact: str | None, regex: str | None) -> bool:
    if exact is not None:
        return value == exact
    return regex is not None and re.fullmatch(regex, value) is not None


@dataclass(frozen=True)
class TrustPolicy:
    """Trusted signers, and the names that must all have signed (none: any one trusted signer)."""

    signers: tuple[TrustedSigner, ...]
    require: tuple[str, ...] = ()
    source: str = "command line"

    def __post_init__(self) -> None:
        if not self.signers:
            raise PolicyError(f"policy from {self.source} names no trusted signer")
        names = [s.name for s in self.signers]
        for name in self.require:
            if name not in names:
                raise PolicyError(
                    f"policy from {self.source} requires {name!r}, which no [[trusted]] entry names"
                )

    @classmethod
    def exact(cls, identity: str, issuer: str) -> TrustPolicy:
        """A policy trusting one exact identity from one exact issuer."""
        return cls((TrustedSigner("signer", identity=identity, issuer=issuer),))

    def matching_names(self, signer: SignerIdentity) -> list[str]:
        """Names of the trusted-signer entries this signer satisfies."""
        return [s.name for s in self.signers if s.matches(signer)]

    def is_satisfied(self, signers: Sequence[SignerIdentity]) -> bool:
        """True when the (already verified) signers satisfy the policy."""
        satisfied = {name for s in signers for name in self.matching_names(s)}
        if self.require:
            return all(name in satisfied for name in self.require)
        return bool(satisfied)
