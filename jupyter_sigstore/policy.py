"""Whom to trust: trusted signers (exact or anchored-regex identity and issuer, CI claims) and
which of them must have signed."""

from __future__ import annotations

import re
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

from .bundles import KEY_ISSUER
from .certinfo import SignerIdentity
from .errors import KeyFileError, PolicyError
from .keys import key_identity, load_public_key
from .textfiles import read_text


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
    #: Public keys named by ``key = "..."`` entries: local-key signatures verify only with these.
    public_keys: tuple[Any, ...] = field(default=(), compare=False, repr=False)

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


#: Keys a ``[[trusted]]`` entry may carry, and the GitHub workflow claims a policy may require.
_SIGNER_KEYS = {"name", "identity", "identity_regex", "issuer", "issuer_regex", "github", "key"}
_GITHUB_KEYS = {"repository", "ref", "trigger", "sha", "workflow"}
_TOP_KEYS = {"trusted", "policy"}
_POLICY_KEYS = {"require"}


def _toml_loads(text: str) -> dict[str, Any]:
    if sys.version_info >= (3, 11):
        import tomllib
    else:  # pragma: no cover - exercised on Python 3.10 only
        import tomli as tomllib
    try:
        data: dict[str, Any] = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise PolicyError(str(exc)) from None
    return data


def _entry_lines(text: str) -> list[int]:
    """1-based line numbers of each ``[[trusted]]`` header, in order."""
    return [n for n, line in enumerate(text.splitlines(), 1) if re.match(r"\s*\[\[\s*trusted\s*\]\]", line)]


def _str(value: object, what: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: {what} must be a non-empty string, not {value!r}")
    return value


def policy_from_dict(
    data: dict[str, Any], source: str, lines: Sequence[int] = (), base: Path | None = None
) -> TrustPolicy:
    """Build a TrustPolicy from parsed policy data (the TOML document's shape); raise PolicyError
    naming the entry (and its line, when ``lines`` gives the entries' header lines)."""
    unknown = sorted(set(data) - _TOP_KEYS)
    if unknown:
        raise PolicyError(
            f"{source}: unknown top-level key {unknown[0]!r} (expected [[trusted]] and [policy])"
        )
    entries = data.get("trusted", [])
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PolicyError(f"{source}: 'trusted' must be a list of [[trusted]] tables")
    if not entries:
        raise PolicyError(f"{source} names nobody: add at least one [[trusted]] entry")
    signers: list[TrustedSigner] = []
    public_keys: list[Any] = []
    for n, entry in enumerate(entries):
        line = f", line {lines[n]}" if n < len(lines) else ""
        where = f"{source}{line}: [[trusted]] entry {n + 1}"
        name = _str(entry.get("name"), "'name'", where)
        where = f"{where} ({name!r})"
        unknown = sorted(set(entry) - _SIGNER_KEYS)
        if unknown:
            raise PolicyError(f"{where}: unknown key {unknown[0]!r}")
        if name in (s.name for s in signers):
            raise PolicyError(f"{where}: the name {name!r} is used twice")
        if "key" in entry:
            public_keys.append(_key_entry(entry, where, base))
            signers.append(_key_signer(name, public_keys[-1]))
            continue
        fields = {
            k: _str(entry[k], repr(k), where)
            for k in ("identity", "identity_regex", "issuer", "issuer_regex")
            if k in entry
        }
        github = entry.get("github", {})
        if not isinstance(github, dict):
            raise PolicyError(f"{where}: 'github' must be a table such as {{ repository = \"org/repo\" }}")
        for key, value in github.items():
            if key not in _GITHUB_KEYS:
                raise PolicyError(
                    f"{where}: unknown github claim {key!r} (known: {', '.join(sorted(_GITHUB_KEYS))})"
                )
            _str(value, f"github.{key}", where)
        try:
            signers.append(TrustedSigner(name, github=dict(github), **fields))
        except PolicyError as exc:
            raise PolicyError(f"{where}: {str(exc).split(': ', 1)[-1]}") from None
    section = data.get("policy", {})
    if not isinstance(section, dict):
        raise PolicyError(f"{source}: [policy] must be a table")
    unknown = sorted(set(section) - _POLICY_KEYS)
    if unknown:
        raise PolicyError(f"{source}: [policy]: unknown key {unknown[0]!r} (expected 'require')")
    require = section.get("require", [])
    if not isinstance(require, list) or not all(isinstance(r, str) and r for r in require):
        raise PolicyError(f"{source}: [policy]: 'require' must be a list of [[trusted]] names")
    return TrustPolicy(tuple(signers), tuple(dict.fromkeys(require)), source, tuple(public_keys))


def _key_entry(entry: dict[str, Any], where: str, base: Path | None) -> Any:
    """A ``key = "team.pub"`` entry (path relative to the policy file): a local-key signer."""
    extra = sorted(set(entry) - {"name", "key"})
    if extra:
        raise PolicyError(f"{where}: a key entry takes only 'name' and 'key', not {extra[0]!r}")
    path = Path(_str(entry["key"], "'key'", where))
    try:
        return load_public_key(path if base is None or path.is_absolute() else base / path)
    except KeyFileError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _key_signer(name: str, public_key: Any) -> TrustedSigner:
    return TrustedSigner(name, identity=key_identity(public_key), issuer=KEY_ISSUER)


def load_policy(path: str | Path) -> TrustPolicy:
    """Load a TOML trust policy file (see docs/policy.md); raise PolicyError naming what is wrong."""
    path = Path(path)
    text = read_text(path, "policy file", PolicyError)
    try:
        data = _toml_loads(text)
    except PolicyError as exc:
        raise PolicyError(f"policy file {path} is not valid TOML: {exc}") from None
    return policy_from_dict(data, f"policy file {path}", _entry_lines(text), path.parent)


def key_policy(
    public_keys: Sequence[EllipticCurvePublicKey], base: TrustPolicy | None = None, source: str = "--key"
) -> TrustPolicy:
    """A policy trusting signatures made with any of ``public_keys``, added to ``base`` (whose
    ``require`` list, if any, still applies)."""
    names = {s.name for s in base.signers} if base else set()
    signers = list(base.signers) if base else []
    for n, key in enumerate(public_keys, 1):
        name = "key" if len(public_keys) == 1 else f"key{n}"
        while name in names:
            name += "'"
        names.add(name)
        signers.append(TrustedSigner(name, identity=key_identity(key), issuer=KEY_ISSUER))
    source = f"{base.source} and {source}" if base else source
    keys = (*base.public_keys, *public_keys) if base else tuple(public_keys)
    return TrustPolicy(tuple(signers), base.require if base else (), source, keys)
