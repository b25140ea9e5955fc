"""Whom to trust: trusted signers (exact or RE2-pattern identity and issuer, CI claims), which of
them must have signed (each required role by a different signer), and how a project's policy is
narrowed by an administrator's.

Every pattern is compiled and matched by RE2, whose matching time is linear in the text: a policy
cannot make a verifier spin. Policy files and the key files they name are read with size caps.
"""

from __future__ import annotations

import os
import stat
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import re2

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ec import EllipticCurvePublicKey

from .bundles import KEY_ISSUER
from .certinfo import CLAIM_EXTENSIONS, SignerIdentity
from .errors import KeyFileError, PolicyError
from .keys import key_identity, load_public_key

#: Largest policy file read, number of ``[[trusted]]`` entries and length of one pattern.
MAX_POLICY_BYTES = 1 << 20
MAX_TRUSTED_ENTRIES = 256
MAX_PATTERN_CHARS = 1024
#: Largest public key file a policy's ``key = "..."`` may name.
MAX_KEY_BYTES = 64 * 1024
#: The ``[policy]`` setting that lets one signer fill several required roles.
SEVERAL_ROLES = "one_signer_may_fill_several_roles"
ACCEPT_V1 = "accept_profile_v1"
DISPLAYED = "unsigned_displayed_files"
#: How :meth:`TrustPolicy.matching_names` labels the roles of an administrator's policy.
ADMIN_PREFIX = "admin:"

_RE2_OPTIONS = re2.Options()
_RE2_OPTIONS.max_mem = 2 << 20
_RE2_OPTIONS.log_errors = False
# RE2 error texts that mean "a Perl/Python feature RE2 does not have" rather than a typo.
_UNSUPPORTED = ("invalid perl operator", "invalid escape sequence", "invalid named capture group")


def _compile(pattern: str, what: str, name: str) -> Any:
    """An RE2 program for ``pattern``; PolicyError naming the entry, the pattern and the reason."""
    where = f"trusted signer {name!r}: {what} {pattern!r}"
    if len(pattern) > MAX_PATTERN_CHARS:
        raise PolicyError(f"{where[:200]}...: longer than {MAX_PATTERN_CHARS} characters")
    try:
        return re2.compile(pattern, _RE2_OPTIONS)
    except re2.error as exc:
        reason = (
            exc.args[0].decode("utf-8", "replace") if exc.args and isinstance(exc.args[0], bytes) else exc
        )
        hint = ""
        if any(str(reason).startswith(prefix) for prefix in _UNSUPPORTED):
            hint = " (RE2 syntax has no backreferences, lookahead, lookbehind or \\Z; see docs/policy.md)"
        raise PolicyError(f"{where} does not compile: {reason}{hint}") from None
    except UnicodeEncodeError:
        raise PolicyError(f"{where} does not compile: it is not valid Unicode text") from None


def _full_match(program: Any, value: str) -> bool:
    try:
        return program.fullmatch(value) is not None
    except UnicodeEncodeError:  # a lone surrogate cannot be what a certificate says
        return False


def _loose_dot(pattern: str) -> int | None:
    """Where ``pattern`` has an unescaped ``.`` standing for a literal dot (next to a letter or
    digit and not repeated, as in ``example.com``), or None."""
    i, n, in_class = 0, len(pattern), False
    while i < n:
        c = pattern[i]
        if c == "\\":
            if pattern.startswith("\\Q", i):  # \Q...\E is literal text
                end = pattern.find("\\E", i + 2)
                i = n if end < 0 else end + 2
            else:
                i += 2
            continue
        if in_class:
            if pattern.startswith("[:", i):
                end = pattern.find(":]", i + 2)
                i = n if end < 0 else end + 2
                continue
            in_class = c != "]"
        elif c == "[":
            in_class = True
            i += 1
            i += 1 if pattern.startswith("^", i) else 0
            i += 1 if pattern.startswith("]", i) else 0  # a ']' first in a class is literal
            continue
        elif c == ".":
            before = pattern[i - 1] if i else ""
            after = pattern[i + 1] if i + 1 < n else ""
            if after not in ("*", "+", "?", "{") and (before.isalnum() or after.isalnum()):
                return i
        i += 1
    return None


@dataclass(frozen=True)
class TrustedSigner:
    """One trusted signer. Exact strings match exactly; patterns (RE2 syntax) must match the
    whole value. ``github`` claims must each equal the certificate's claim of that name."""

    name: str
    identity: str | None = None
    identity_regex: str | None = None
    issuer: str | None = None
    issuer_regex: str | None = None
    github: dict[str, str] = field(default_factory=dict)
    _programs: dict[str, Any] = field(default_factory=dict, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if (self.identity is None) == (self.identity_regex is None):
            raise PolicyError(f"trusted signer {self.name!r}: give exactly one of identity, identity_regex")
        if (self.issuer is None) == (self.issuer_regex is None):
            raise PolicyError(f"trusted signer {self.name!r}: give exactly one of issuer, issuer_regex")
        for what, pattern in (("identity_regex", self.identity_regex), ("issuer_regex", self.issuer_regex)):
            if pattern is not None:
                self._programs[what] = _compile(pattern, what, self.name)

    def matches(self, signer: SignerIdentity) -> bool:
        """True when the certificate's identity, issuer and every listed CI claim match."""
        if not self._match(signer.identity, self.identity, "identity_regex"):
            return False
        if not self._match(signer.issuer, self.issuer, "issuer_regex"):
            return False
        return all(signer.github.get(k) == v for k, v in self.github.items())

    def _match(self, value: str, exact: str | None, what: str) -> bool:
        if exact is not None:
            return value == exact
        return _full_match(self._programs[what], value)

    @property
    def warnings(self) -> tuple[str, ...]:
        """Likely mistakes that are still valid policy (e.g. an unescaped ``.``), one line each."""
        found = []
        for what, pattern in (("identity_regex", self.identity_regex), ("issuer_regex", self.issuer_regex)):
            at = _loose_dot(pattern) if pattern is not None else None
            if pattern is not None and at is not None:
                found.append(
                    f"trusted signer {self.name!r}: {what} {pattern!r}: the '.' at position {at} matches "
                    "any character; write '\\.' for a literal dot"
                )
        return tuple(found)

    def describe(self) -> str:
        """A short human description, e.g. ``alice@example.com (https://accounts.google.com)``."""
        who = self.identity if self.identity is not None else f"/{self.identity_regex}/"
        if self.issuer == KEY_ISSUER and not self.github:
            return who
        issuer = self.issuer if self.issuer is not None else f"/{self.issuer_regex}/"
        claims = "".join(f", {k}={v}" for k, v in self.github.items())
        return f"{who} ({issuer}{claims})"


#: The attestation kinds an ``[[attested]]`` requirement may name, and their predicate types.
ATTESTATION_KINDS = {"reproduction": "https://in-toto.io/attestation/test-result/v0.1"}


@dataclass(frozen=True)
class AttestationRule:
    """A required attestation (``[[attested]]``): of ``kind``, signed by the ``[[trusted]]`` entry
    ``by``, about the notebook as it is, with one of the ``results`` (e.g. a reproduction PASSED)."""

    name: str
    kind: str
    by: str
    results: tuple[str, ...] = ("PASSED",)

    @property
    def predicate_type(self) -> str:
        return ATTESTATION_KINDS[self.kind]

    def describe(self) -> str:
        return f"{self.kind} by {self.by} with result {' or '.join(self.results)}"


@dataclass(frozen=True)
class AttestationFact:
    """A verified attestation as a policy judges it: who signed it, its type and predicate, and
    whether it is about the notebook as it is."""

    signer: SignerIdentity
    predicate_type: str
    predicate: Any
    covers_current: bool


def _signer_key(signer: SignerIdentity) -> tuple[str, str]:
    """Who signed, for counting distinct signers: identity and issuer (a key signer's identity
    is its key)."""
    return signer.identity, signer.issuer


@dataclass(frozen=True)
class TrustPolicy:
    """Trusted signers, and the names that must all have signed (none: any one trusted signer).

    Each required name must be filled by a different signer (four eyes) unless
    ``one_signer_may_fill_several_roles``. ``ceiling`` is an administrator's policy this one was
    narrowed by (see :func:`narrow`): a signer counts only if the ceiling trusts it too, and the
    ceiling's own ``require`` applies as well.
    """

    signers: tuple[TrustedSigner, ...]
    require: tuple[str, ...] = ()
    source: str = "command line"
    #: Public keys named by ``key = "..."`` entries: local-key signatures verify only with these.
    public_keys: tuple[Any, ...] = field(default=(), compare=False, repr=False)
    one_signer_may_fill_several_roles: bool = False
    ceiling: TrustPolicy | None = None
    #: Whether signatures made with canonical profile v1 (known collisions) count at all.
    accept_profile_v1: bool = True
    #: What a local file the notebook displays but no signature covers does to the verdict:
    #: ``fail`` (not verified) or ``warn`` (verified, with a warning).
    unsigned_displayed_files: str = "fail"
    #: Required attestations (``[[attested]]``), named in ``require`` like signer roles.
    attested: tuple[AttestationRule, ...] = ()

    def __post_init__(self) -> None:
        if not self.signers:
            raise PolicyError(f"policy from {self.source} names no trusted signer")
        names = [s.name for s in self.signers]
        attested = [a.name for a in self.attested]
        for name in self.require:
            if name not in names and name not in attested:
                raise PolicyError(
                    f"policy from {self.source} requires {name!r}, which no [[trusted]] or [[attested]] "
                    "entry names"
                )
        for rule in self.attested:
            if rule.by not in names:
                raise PolicyError(
                    f"policy from {self.source}: [[attested]] {rule.name!r} is by {rule.by!r}, which no "
                    "[[trusted]] entry names"
                )

    @property
    def _signer_roles(self) -> tuple[str, ...]:
        """The required names that signatures fill (the others are required attestations)."""
        attested = {a.name for a in self.attested}
        return tuple(r for r in self.require if r not in attested)

    @classmethod
    def exact(cls, identity: str, issuer: str) -> TrustPolicy:
        """A policy trusting one exact identity from one exact issuer."""
        return cls((TrustedSigner("signer", identity=identity, issuer=issuer),))

    # -- judging signers ------------------------------------------------------------------
    def _roles(self, signer: SignerIdentity) -> list[str]:
        """Names of this policy's own entries the signer fills (none if the ceiling refuses it)."""
        names = [s.name for s in self.signers if s.matches(signer)]
        if names and self.ceiling is not None and not self.ceiling._trusts(signer):
            return []
        return names

    def _trusts(self, signer: SignerIdentity) -> bool:
        return bool(self._roles(signer))

    def matching_names(self, signer: SignerIdentity) -> list[str]:
        """Names of the trusted-signer entries this signer satisfies; an administrator's entries
        (after :func:`narrow`) follow, prefixed ``admin:``. Empty when the signer is not trusted."""
        names = self._roles(signer)
        if names and self.ceiling is not None:
            names += [ADMIN_PREFIX + name for name in self.ceiling.matching_names(signer)]
        return names

    def _assign(self, signers: Sequence[SignerIdentity]) -> tuple[dict[str, tuple[str, str]], list[str]]:
        """Which signer fills each required role, and the required roles nobody can fill.

        Without the opt-out each signer fills at most one role: a maximum bipartite matching
        (augmenting paths, roles in ``require`` order so the earlier roles are the ones kept).
        """
        can_fill: dict[tuple[str, str], set[str]] = {}
        for signer in signers:
            roles = self._roles(signer)
            if roles:
                can_fill.setdefault(_signer_key(signer), set()).update(roles)
        if self.one_signer_may_fill_several_roles:
            filled = {role: key for key, roles in can_fill.items() for role in roles}
            return filled, [role for role in self._signer_roles if role not in filled]
        holder: dict[tuple[str, str], str] = {}

        def augment(role: str, seen: set[tuple[str, str]]) -> bool:
            for key, roles in can_fill.items():
                if role in roles and key not in seen:
                    seen.add(key)
                    if key not in holder or augment(holder[key], seen):
                        holder[key] = role
                        return True
            return False

        missing = [role for role in self._signer_roles if not augment(role, set())]
        return {role: key for key, role in holder.items()}, missing

    def unmet(self, signers: Sequence[SignerIdentity]) -> list[str]:
        """The required roles the (already verified) signers leave unfilled, in ``require`` order:
        each required name no distinct signer fills, then an administrator's (after
        :func:`narrow`) prefixed ``admin:``. Without ``require`` there are no roles to name, so a
        policy nobody satisfies may have none unmet: ask :meth:`is_satisfied` for the verdict and
        :meth:`shortfall` for the sentence."""
        missing = self._assign(signers)[1] if self._signer_roles else []
        if self.ceiling is not None:
            missing += [ADMIN_PREFIX + name for name in self.ceiling.unmet(signers)]
        return missing

    def is_satisfied(self, signers: Sequence[SignerIdentity]) -> bool:
        """True when the (already verified) signers satisfy the policy: every required role is
        filled (by distinct signers unless the policy opts out), or, without ``require``, at least
        one signer is trusted; and an administrator's policy it was narrowed by is satisfied too."""
        if self.unmet(signers):
            return False
        return bool(self._signer_roles) or any(self._trusts(s) for s in signers)

    def shortfall(self, signers: Sequence[SignerIdentity]) -> str | None:
        """What the signers lack, as one phrase (None when the policy is satisfied), e.g.
        ``missing: reviewer (alice@example.com already fills author; each required role needs a
        different signer)`` or ``no signature by a trusted signer (any of: bob@example.com (<issuer>))``."""
        if self.is_satisfied(signers):
            return None
        missing = self.unmet(signers)
        if not missing:
            trusted = ", ".join(s.describe() for s in self.signers)
            return f"no signature by a trusted signer (any of: {trusted})"
        text = f"missing: {', '.join(missing)}"
        if self._signer_roles and not self.one_signer_may_fill_several_roles:
            filled = self._assign(signers)[0]
            busy = [
                f"{key[0]} already fills {role}"
                for role, key in filled.items()
                if any(name in missing for name in self._roles_of_key(signers, key))
            ]
            if busy:
                text += f" ({'; '.join(busy)}; each required role needs a different signer)"
        return text

    def signatures_only(self) -> TrustPolicy:
        """This policy without its required attestations: what ``reproduce`` checks before it
        executes (the reproduction it is about to make cannot be a precondition of making it)."""
        ceiling = self.ceiling.signatures_only() if self.ceiling is not None else None
        return replace(self, require=self._signer_roles, attested=(), ceiling=ceiling)

    def unmet_attestations(self, facts: Sequence[AttestationFact]) -> list[str]:
        """The required attestations the (already verified) ``facts`` do not provide, each with why,
        e.g. ``reproduced (no reproduction by ci about this version)``; an administrator's follow,
        prefixed ``admin:``."""
        missing = []
        for rule in self.attested:
            if rule.name not in self.require:
                continue
            found = [
                f
                for f in facts
                if f.predicate_type == rule.predicate_type
                and rule.by in self._roles(f.signer)
                and f.covers_current
            ]
            results = [str(f.predicate.get("result")) for f in found if isinstance(f.predicate, dict)]
            if any(r in rule.results for r in results):
                continue
            if results:
                why = f"{rule.kind} by {rule.by} is {results[-1]}; accepted: {', '.join(rule.results)}"
            else:
                why = f"no {rule.kind} by {rule.by} about this version"
            missing.append(f"{rule.name} ({why})")
        if self.ceiling is not None:
            missing += [ADMIN_PREFIX + name for name in self.ceiling.unmet_attestations(facts)]
        return missing

    def _roles_of_key(self, signers: Sequence[SignerIdentity], key: tuple[str, str]) -> set[str]:
        return {role for s in signers if _signer_key(s) == key for role in self._roles(s)}

    # -- describing -----------------------------------------------------------------------
    @property
    def warnings(self) -> tuple[str, ...]:
        """Likely mistakes in the policy (accepted, but worth a look), one line each, for a
        surface to print (the CLI on stderr, the sidebar under the policy)."""
        own = tuple(f"{self.source}: {w}" for s in self.signers for w in s.warnings)
        return own + (self.ceiling.warnings if self.ceiling is not None else ())

    def describe(self) -> str:
        """The whole policy in one line: every entry, the require list and how roles are filled,
        and the administrator's policy it was narrowed by."""
        parts = [f"{s.name}: {s.describe()}" for s in self.signers]
        if self.require:
            how = (
                "one signer may fill several"
                if self.one_signer_may_fill_several_roles
                else "each by a different signer"
            )
            parts.append(f"require {', '.join(self.require)} ({how})")
        else:
            parts.append("any one of them")
        if not self.accept_profile_v1:
            parts.append("signatures made with canonical profile v1 refused")
        if self.unsigned_displayed_files == "warn":
            parts.append("unsigned displayed files only warned about")
        parts += [f"{a.name}: {a.describe()}" for a in self.attested]
        text = "; ".join(parts)
        if self.ceiling is not None:
            text += f"; only signers the administrator's policy also trusts ({self.ceiling.describe()})"
        return text


def narrow(admin: TrustPolicy | None, project: TrustPolicy) -> TrustPolicy:
    """``project`` as it applies under an administrator's policy ``admin``: a signer counts for a
    project role only if ``admin`` trusts it too (any of its entries), the project's ``require``
    applies, and so does the administrator's own. With no ``admin``, ``project`` alone."""
    if admin is None:
        return project
    ceiling = admin if project.ceiling is None else narrow(admin, project.ceiling)
    return replace(
        project,
        source=f"{project.source}, narrowed by {admin.source}",
        public_keys=(*project.public_keys, *admin.public_keys),
        ceiling=ceiling,
        accept_profile_v1=project.accept_profile_v1 and admin.accept_profile_v1,
        unsigned_displayed_files="warn"
        if project.unsigned_displayed_files == admin.unsigned_displayed_files == "warn"
        else "fail",
    )


# ----------------------------------------------------------------------------------- loading

#: Keys a ``[[trusted]]`` entry may carry, and the CI claims a policy may require.
_SIGNER_KEYS = {"name", "identity", "identity_regex", "issuer", "issuer_regex", "github", "key"}
_GITHUB_KEYS = set(CLAIM_EXTENSIONS)
_TOP_KEYS = {"trusted", "policy", "attested", "reproduce"}  # [reproduce]: rules.py reads it
_ATTESTED_KEYS = {"name", "kind", "by", "result"}
_POLICY_KEYS = {"require", SEVERAL_ROLES, ACCEPT_V1, DISPLAYED}


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
    lines = []
    for n, line in enumerate(text.splitlines(), 1):
        stripped = line.strip()
        if stripped.startswith("[[") and stripped[2:].split("]]", 1)[0].strip() == "trusted":
            lines.append(n)
    return lines


def _str(value: object, what: str, where: str) -> str:
    if not isinstance(value, str) or not value:
        raise PolicyError(f"{where}: {what} must be a non-empty string, not {value!r}")
    return value


def read_bounded(path: Path, what: str, limit: int = MAX_POLICY_BYTES) -> bytes:
    """The bytes of the regular file ``path``, at most ``limit`` of them; PolicyError otherwise.

    Opened without blocking, so a FIFO or device where a file should be is refused, not waited on.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise PolicyError(f"{what} {path}: cannot read ({exc.strerror})") from None
    except ValueError:  # an embedded NUL
        raise PolicyError(f"{what} {path}: cannot read (not a valid path)") from None
    with os.fdopen(fd, "rb") as file:
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            raise PolicyError(f"{what} {path}: cannot read (not a regular file)")
        data = file.read(limit + 1)
    if len(data) > limit:
        raise PolicyError(f"{what} {path} is larger than {limit // 1024} KiB")
    return data


def policy_from_dict(
    data: dict[str, Any],
    source: str,
    lines: Sequence[int] = (),
    base: Path | None = None,
    *,
    key_root: Path | None = None,
) -> TrustPolicy:
    """Build a TrustPolicy from parsed policy data (the TOML document's shape); raise PolicyError
    naming the entry (and its line, when ``lines`` gives the entries' header lines).

    ``key = "..."`` paths are relative to ``base``; with ``key_root`` they must lead (symlinks
    resolved) to a regular file inside ``key_root``.
    """
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
    if len(entries) > MAX_TRUSTED_ENTRIES:
        raise PolicyError(f"{source} has {len(entries)} [[trusted]] entries; at most {MAX_TRUSTED_ENTRIES}")
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
            public_keys.append(_key_entry(entry, where, base, key_root))
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
        raise PolicyError(
            f"{source}: [policy]: unknown key {unknown[0]!r} "
            f"(expected 'require', '{SEVERAL_ROLES}', '{ACCEPT_V1}' or '{DISPLAYED}')"
        )
    require = section.get("require", [])
    if not isinstance(require, list) or not all(isinstance(r, str) and r for r in require):
        raise PolicyError(f"{source}: [policy]: 'require' must be a list of [[trusted]] names")
    several = section.get(SEVERAL_ROLES, False)
    accept_v1 = section.get(ACCEPT_V1, True)
    for key, value in ((SEVERAL_ROLES, several), (ACCEPT_V1, accept_v1)):
        if not isinstance(value, bool):
            raise PolicyError(f"{source}: [policy]: '{key}' must be true or false")
    displayed = section.get(DISPLAYED, "fail")
    if displayed not in ("fail", "warn"):
        raise PolicyError(f'{source}: [policy]: \'{DISPLAYED}\' must be "fail" or "warn"')
    attested = _attested(data.get("attested", []), source, [s.name for s in signers])
    return TrustPolicy(
        tuple(signers),
        tuple(dict.fromkeys(require)),
        source,
        tuple(public_keys),
        one_signer_may_fill_several_roles=several,
        accept_profile_v1=accept_v1,
        unsigned_displayed_files=displayed,
        attested=attested,
    )


def _attested(entries: Any, source: str, names: list[str]) -> tuple[AttestationRule, ...]:
    """``[[attested]]`` tables: ``name``, ``kind`` (``reproduction``), ``by`` (a [[trusted]] name)
    and the accepted ``result`` values (default PASSED)."""
    if not isinstance(entries, list) or not all(isinstance(e, dict) for e in entries):
        raise PolicyError(f"{source}: 'attested' must be a list of [[attested]] tables")
    rules: list[AttestationRule] = []
    for n, entry in enumerate(entries, 1):
        where = f"{source}: [[attested]] entry {n}"
        unknown = sorted(set(entry) - _ATTESTED_KEYS)
        if unknown:
            raise PolicyError(f"{where}: unknown key {unknown[0]!r} (expected name, kind, by, result)")
        name = _str(entry.get("name"), "'name'", where)
        if name in names or name in (r.name for r in rules):
            raise PolicyError(f"{where}: the name {name!r} is used twice")
        kind = entry.get("kind", "reproduction")
        if kind not in ATTESTATION_KINDS:
            raise PolicyError(f"{where}: kind must be one of {', '.join(ATTESTATION_KINDS)}, not {kind!r}")
        by = _str(entry.get("by"), "'by'", where)
        if by not in names:
            raise PolicyError(f"{where}: 'by' names {by!r}, which no [[trusted]] entry names")
        result = entry.get("result", ["PASSED"])
        result = [result] if isinstance(result, str) else result
        if not isinstance(result, list) or not result or not set(result) <= {"PASSED", "WARNED", "FAILED"}:
            raise PolicyError(f"{where}: result must be a list of PASSED, WARNED, FAILED")
        rules.append(AttestationRule(name, kind, by, tuple(result)))
    return tuple(rules)


def _key_entry(entry: dict[str, Any], where: str, base: Path | None, key_root: Path | None) -> Any:
    """A ``key = "team.pub"`` entry (path relative to the policy file): a local-key signer."""
    extra = sorted(set(entry) - {"name", "key"})
    if extra:
        raise PolicyError(f"{where}: a key entry takes only 'name' and 'key', not {extra[0]!r}")
    written = _str(entry["key"], "'key'", where)
    path = Path(written)
    path = path if base is None or path.is_absolute() else base / path
    if key_root is not None:
        path = _confined(path, written, key_root, where)
    try:
        return load_public_key(path)
    except KeyFileError as exc:
        raise PolicyError(f"{where}: {exc}") from None


def _confined(path: Path, written: str, root: Path, where: str) -> Path:
    """The real path of ``path`` if it stays inside ``root`` and is a small regular file."""
    try:
        real_root = root.resolve()
    except (OSError, RuntimeError):
        real_root = root
    outside = PolicyError(
        f"{where}: key {written!r} leads outside {real_root}; a policy's key files must be inside "
        "the folder that holds it"
    )
    try:
        real = path.resolve()
    except (OSError, ValueError, RuntimeError):  # a symlink loop, an embedded NUL
        raise outside from None
    if real != real_root and real_root not in real.parents:
        raise outside
    try:
        info = real.stat()
    except OSError as exc:
        raise PolicyError(f"{where}: public key {path}: cannot read ({exc.strerror})") from None
    if not stat.S_ISREG(info.st_mode):
        raise PolicyError(f"{where}: public key {path}: cannot read (not a regular file)")
    if info.st_size > MAX_KEY_BYTES:
        raise PolicyError(f"{where}: public key {path} is larger than {MAX_KEY_BYTES // 1024} KiB")
    return real


def _key_signer(name: str, public_key: Any) -> TrustedSigner:
    return TrustedSigner(name, identity=key_identity(public_key), issuer=KEY_ISSUER)


def policy_from_text(
    text: str, source: str, base: Path | None = None, *, key_root: Path | None = None
) -> TrustPolicy:
    """Parse a policy file's TOML text (see :func:`policy_from_dict` for ``base``/``key_root``)."""
    try:
        data = _toml_loads(text)
    except PolicyError as exc:
        raise PolicyError(f"{source} is not valid TOML: {exc}") from None
    return policy_from_dict(data, source, _entry_lines(text), base, key_root=key_root)


def decode_policy(data: bytes, path: Path) -> str:
    """A policy file's bytes as text; PolicyError when they are not UTF-8."""
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise PolicyError(f"policy file {path}: cannot read (not UTF-8 text)") from None


def load_policy(path: str | Path, *, key_root: Path | None = None) -> TrustPolicy:
    """Load a TOML trust policy file (see docs/policy.md); raise PolicyError naming what is wrong.

    Its ``key = "..."`` files must stay inside ``key_root``, by default the folder holding the
    policy (pass a wider root, such as ``Path("/")``, for a policy an administrator wrote).
    """
    path = Path(path)
    text = decode_policy(read_bounded(path, "policy file"), path)
    return policy_from_text(text, f"policy file {path}", path.parent, key_root=key_root or path.parent)


def key_policy(
    public_keys: Sequence[EllipticCurvePublicKey], base: TrustPolicy | None = None, source: str = "--key"
) -> TrustPolicy:
    """A policy trusting signatures made with any of ``public_keys``, added to ``base`` (whose
    ``require`` list and settings, if any, still apply)."""
    names = {s.name for s in base.signers} if base else set()
    signers = list(base.signers) if base else []
    for n, key in enumerate(public_keys, 1):
        name = "key" if len(public_keys) == 1 else f"key{n}"
        while name in names:
            name += "'"
        names.add(name)
        signers.append(TrustedSigner(name, identity=key_identity(key), issuer=KEY_ISSUER))
    if base is None:
        return TrustPolicy(tuple(signers), (), source, tuple(public_keys))
    return replace(
        base,
        signers=tuple(signers),
        source=f"{base.source} and {source}",
        public_keys=(*base.public_keys, *public_keys),
    )
