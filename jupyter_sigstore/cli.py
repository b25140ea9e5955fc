"""The ``jupyter-sigstore`` command line (also ``jupyter sigstore``).

Exit codes: 0 success (for verify: every notebook ``verified``), 1 a verification or signing failure,
2 usage errors or unreadable input. Errors are one line on stderr, never a traceback. Modules are
imported inside each command so that quick commands start fast; a plain ``digest`` command line is
parsed without :mod:`argparse` (see :func:`_plain_digest_args`).
"""

from __future__ import annotations

import os
import sys

from .cli_options import (
    PASSWORD_ENV,
    add_identity_options,
    add_instance_options,
    instance_of,
    signer_from_args,
    trust_from_args,
)
from .errors import IdentityError, SigningError, SigstoreNotebookError

TYPE_CHECKING = False
if TYPE_CHECKING:
    import argparse
    from collections.abc import Sequence
    from types import SimpleNamespace
    from typing import Any

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2
_LISTED_OUTPUTS = 50


def _build_parser() -> argparse.ArgumentParser:
    import argparse

    parser = argparse.ArgumentParser(
        prog="jupyter-sigstore",
        description="Sign Jupyter notebooks and their data outputs with Sigstore, and verify them.",
    )
    from . import __version__

    parser.add_argument("--version", action="version", version=f"jupyter-sigstore {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    sign = sub.add_parser("sign", help="sign a notebook and its data outputs")
    sign.add_argument("notebook", help="the .ipynb file to sign")
    sign.add_argument(
        "--output",
        "-o",
        action="append",
        default=[],
        metavar="PATH",
        help="a data output to include: a file, a folder (recursive) or a quoted glob pattern such as "
        "'figures/*.png' or 'data/**/*.parquet' (repeatable; relative to the current directory), or a "
        "URL: an object, a prefix ending in / or a URL pattern (s3://bucket/run-42/, gs://..., az://..., "
        "https://host/file; see docs/object-storage.md). "
        "Without --output, the outputs tracked in the notebook with `%%sigstore track` are signed",
    )
    _add_output_options(sign)
    sign.add_argument(
        "--no-displayed-files",
        dest="displayed_files",
        action="store_false",
        help="do not sign the local files the notebook displays (markdown images, HTML src...); "
        "verification then reports them as not signed",
    )
    sign.add_argument(
        "--sidecar", action="store_true", help="also write <notebook>.sigstore.json, a plain Sigstore bundle"
    )
    sign.add_argument(
        "--detached",
        action="store_true",
        help="store only a reference to the sidecar bundle in the notebook (implies --sidecar)",
    )
    sign.add_argument(
        "--countersign",
        action="store_true",
        help="add a further signature over exactly what the newest signature covers (the notebook and "
        "the same outputs, unchanged), keeping the earlier ones",
    )
    sign.add_argument(
        "--replace",
        action="store_true",
        help="drop every earlier signature, including other signers' (by default they are kept; "
        "your own earlier signatures are replaced)",
    )
    sign.add_argument(
        "--earlier-key",
        action="append",
        default=[],
        metavar="PUB",
        help="with --countersign: the PEM public key of an earlier signer who signed with a local key "
        "(repeatable); their signature must verify before it is countersigned",
    )
    sign.add_argument(
        "--allow-outside",
        action="store_true",
        help="allow outputs outside the notebook's folder (named with ../ in the signature)",
    )
    add_identity_options(sign)
    sign.add_argument(
        "--pending",
        action="store_true",
        help="complete the signing requests a notebook executed headless recorded (`%%sigstore sign` under "
        "nbconvert, nbclient or papermill): sign it with the outputs it tracked",
    )
    sign.add_argument("--json", action="store_true", help="print the result as JSON")
    add_instance_options(sign)

    upgrade = sub.add_parser(
        "upgrade",
        help="re-sign a notebook whose signature uses canonical profile v1 with the current profile",
        description="Verify the notebook, then sign exactly what its newest covering signature covers "
        "with the current canonical profile, replacing your own earlier signatures.",
    )
    upgrade.add_argument("notebook", help="the .ipynb file to re-sign")
    upgrade.add_argument(
        "--earlier-key",
        action="append",
        default=[],
        metavar="PUB",
        help="the PEM public key of an earlier signer who signed with a local key (repeatable)",
    )
    add_identity_options(upgrade)
    upgrade.add_argument("--json", action="store_true", help="print the result as JSON")
    add_instance_options(upgrade)
    upgrade.set_defaults(  # what `sign` options an upgrade keeps fixed
        output=[],
        exclude=[],
        follow_symlinks=False,
        allow_outside=False,
        countersign=False,
        replace=False,
        sidecar=False,
        detached=False,
        displayed_files=False,
        jobs=None,
        dask=None,
    )

    verify = sub.add_parser("verify", help="verify notebooks (files or folders) and their outputs")
    verify.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help=".ipynb files or folders")
    verify.add_argument("--cert-identity", metavar="IDENTITY", help="the signer identity to trust")
    verify.add_argument("--cert-oidc-issuer", metavar="URL", help="the OIDC issuer of that identity")
    verify.add_argument(
        "--policy", metavar="FILE", help="a TOML trust policy: who is trusted, who must have signed"
    )
    verify.add_argument(
        "--key",
        action="append",
        metavar="PUB",
        help="trust signatures made with this PEM public key (repeatable)",
    )
    verify.add_argument(
        "--bundle",
        action="append",
        metavar="FILE",
        help="verify with this bundle file instead of the signatures stored with the notebook",
    )
    verify.add_argument(
        "--allow-outside",
        action="store_true",
        help="accept signed outputs outside the notebook's folder",
    )
    verify.add_argument(
        "--jobs", "-j", type=_positive_int, metavar="N", help="hashing threads (default: one per CPU)"
    )
    verify.add_argument(
        "--remote-outputs",
        choices=("trusted", "always", "never"),
        default="trusted",
        help="when to read signed outputs named by URL: only for signatures the policy trusts (default: "
        "a stranger's signature cannot make you fetch URLs with your credentials), always, or never",
    )
    verify.add_argument(
        "--dask", metavar="ADDRESS", help="hash remote outputs on the Dask cluster at ADDRESS"
    )
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    add_instance_options(verify)

    inspect = sub.add_parser("inspect", help="show what a notebook's signatures claim (without verifying)")
    inspect.add_argument("notebook")
    inspect.add_argument("--json", action="store_true", help="print as JSON")
    _add_trust_commands(sub)
    digest = sub.add_parser(
        "digest",
        help="print the sha256 of files, folders (recursive) and patterns, as signing would see them",
        description="Print one line per file, like sha256sum:\n\n  sha256:<hex>  <path>\n\n"
        "A name holding a newline or backslash is escaped and its line starts with a backslash.",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    digest.add_argument(
        "paths", nargs="+", metavar="PATH", help="files, folders, quoted glob patterns or URLs (s3://...)"
    )
    _add_output_options(digest)
    from .cli_reproducibility import add_commands

    add_commands(sub)
    return parser


def _positive_int(text: str) -> int:
    import argparse

    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive whole number, got {text!r}")
    return value


def _add_output_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("choosing and hashing data outputs")
    group.add_argument(
        "--exclude",
        action="append",
        default=[],
        metavar="PATTERN",
        help=".gitignore-style pattern of files to leave out of folders and patterns (repeatable); "
        ".git/, .ipynb_checkpoints/ and *.sigstore.json are always left out",
    )
    group.add_argument(
        "--follow-symlinks",
        action="store_true",
        help="include what symbolic links inside folders point to (never outside the folder's root)",
    )
    group.add_argument(
        "--jobs", "-j", type=_positive_int, metavar="N", help="hashing threads (default: one per CPU)"
    )
    group.add_argument(
        "--dask",
        metavar="ADDRESS",
        help="hash outputs named by URL on the Dask cluster whose scheduler is at ADDRESS "
        "(e.g. tcp://scheduler:8786; needs jupyter-sigstore[dask], and jupyter-sigstore on the workers)",
    )


def _cmd_sign(args: argparse.Namespace) -> int:
    import json
    from dataclasses import replace
    from pathlib import Path

    from . import api
    from .errors import UsageError
    from .nbfile import load_notebook

    instance = instance_of(args)
    upgrade = args.command == "upgrade"
    if args.earlier_key and not (args.countersign or upgrade):
        raise UsageError("--earlier-key is for --countersign (it verifies an earlier signature)")
    if args.replace and args.countersign:
        raise UsageError(
            "--replace and --countersign cannot be combined: a countersignature keeps the others"
        )
    pending = getattr(args, "pending", False)  # `upgrade` shares this command
    if pending and (args.output or args.countersign):
        raise UsageError("--pending signs what the notebook requested; drop --output and --countersign")
    earlier_keys = []
    if args.earlier_key:
        from .keys import load_public_key

        earlier_keys = [load_public_key(k) for k in args.earlier_key]
    # Read the notebook first so a bad notebook never costs an interactive login.
    loaded = load_notebook(Path(args.notebook))
    signer = signer_from_args(args, instance)
    options = api.SignOptions(
        outputs=tuple(args.output),
        # without --output: the outputs tracked in the notebook with `%sigstore track`
        tracked=not args.output and not args.countersign and not upgrade,
        exclude=tuple(args.exclude),
        follow_symlinks=args.follow_symlinks,
        allow_outside=args.allow_outside,
        countersign=args.countersign,
        upgrade=upgrade,
        replace=args.replace,
        earlier_keys=tuple(earlier_keys),
        placement="detached" if args.detached else "sidecar" if args.sidecar else "embedded",
        displayed_files=args.displayed_files and not (args.countersign or upgrade),
        instance=instance,
        jobs=args.jobs,
        progress=True,
        dask=args.dask,
    )
    from .signing import sign_notebook

    if pending:
        result = api.sign_pending(loaded.path, signer, replace(options, tracked=False))
    else:
        result = sign_notebook(loaded, signer, options)  # written only if unchanged since it was read
    if args.json:
        print(
            json.dumps(
                {
                    "notebook": str(result.notebook),
                    "identity": result.identity,
                    "issuer": result.issuer,
                    "profile": result.profile,
                    "notebook_digest": result.notebook_digest,
                    "outputs": result.outputs_json(),
                    "log_index": result.log_index,
                    "sidecar": str(result.sidecar) if result.sidecar else None,
                    "manifest": str(result.manifest) if result.manifest else None,
                    "signatures": result.signatures,
                    "kept": result.kept,
                    "replaced": list(result.dropped),
                    "notes": list(result.notes),
                },
                indent=2,
            )
        )
        return EXIT_OK
    from .render import escape_terminal

    what = "countersigned" if args.countersign else "re-signed" if upgrade else "signed"
    lines = [f"{what} {result.notebook} as {result.identity} (issuer {result.issuer})"]
    lines.append(f"  notebook sha256 ({result.profile}): {result.notebook_digest}")
    for out in result.outputs[:_LISTED_OUTPUTS]:
        version = getattr(out, "version_id", None)
        lines.append(
            f"  output {out.path}: sha256 {out.sha256}" + (f" (version {version})" if version else "")
        )
    if len(result.outputs) > _LISTED_OUTPUTS:
        lines.append(
            f"  ... and {len(result.outputs) - _LISTED_OUTPUTS:,} more outputs (--json lists them all)"
        )
    lines += [f"  note: {note}" for note in result.notes]
    if result.manifest:
        lines.append(
            f"  outputs listed in {result.manifest} (`sha256sum -c` checks it in the notebook's folder)"
        )
    if result.log_index is not None:
        lines.append(f"  transparency log index: {result.log_index}")
    if result.sidecar:
        lines.append(f"  bundle written to {result.sidecar}")
    if result.kept and not args.countersign:
        lines.append(f"  kept {result.kept} earlier signature(s) by others (`--replace` drops them)")
    if result.dropped:
        lines.append(f"  replaced earlier signature(s) by {', '.join(result.dropped)}")
    print("\n".join(escape_terminal(line) for line in lines))
    return EXIT_OK


def _cmd_verify(args: argparse.Namespace) -> int:
    import json
    from pathlib import Path

    from . import api
    from .errors import UsageError

    policy, _ = trust_from_args(args, args.key)
    instance = instance_of(args)
    _warn_if_stale(instance.name)
    if instance.trust_config is not None:
        instance.trusted_root()  # a bad --trust-config is a usage error even for unsigned notebooks
    notebooks = api.find_notebooks(args.notebooks)
    if args.bundle and len(notebooks) != 1:
        raise UsageError("--bundle needs exactly one notebook")
    options = api.VerifyOptions(
        policy=policy,
        instance=instance,
        bundles=tuple(Path(b) for b in args.bundle or ()),
        allow_outside=args.allow_outside,
        jobs=args.jobs,
        progress=True,  # shown only on a terminal, and only for long hashing
        remote=args.remote_outputs,
        dask=args.dask,
    )
    reports = [api.verify(nb, options) for nb in notebooks]
    single = len(args.notebooks) == 1 and not Path(args.notebooks[0]).is_dir()
    if args.json:
        if single:
            print(json.dumps(reports[0].to_dict(), indent=2))
        else:
            overall = "verified" if all(r.ok for r in reports) else "failed"
            print(json.dumps({"status": overall, "notebooks": [r.to_dict() for r in reports]}, indent=2))
    else:
        print("\n".join(api.render_text(r) for r in reports))
        if policy is None and any(r.status == "untrusted-signer" for r in reports):
            print("hint: pass --cert-identity and --cert-oidc-issuer to say whom you trust", file=sys.stderr)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _add_trust_commands(sub: Any) -> None:
    keygen = sub.add_parser("keygen", help="make a local EC P-256 signing key pair (PREFIX.key, PREFIX.pub)")
    keygen.add_argument(
        "--output",
        metavar="PREFIX",
        default="jupyter-sigstore",
        help="file name prefix (default: %(default)s)",
    )
    keygen.add_argument(
        "--no-password",
        action="store_true",
        help=f"leave the private key unencrypted (default: a passphrase from ${PASSWORD_ENV} or a prompt)",
    )

    vb = sub.add_parser(
        "verify-bundle",
        help="verify any Sigstore bundle against a file or sha256:<hex> digest (conformance protocol)",
    )
    vb.add_argument("--staging", action="store_true", help="use the public-good staging trusted root")
    vb.add_argument("--bundle", required=True, metavar="FILE", help="the Sigstore bundle to verify")
    vb.add_argument("--certificate-identity", metavar="IDENTITY", help="the expected certificate identity")
    vb.add_argument("--certificate-oidc-issuer", metavar="URL", help="the expected OIDC issuer")
    vb.add_argument("--key", metavar="PATH_TO_KEY", help="a PEM public key, for bundles signed with a key")
    vb.add_argument(
        "--trusted-root",
        metavar="FILE",
        help="a custom trusted root JSON (a ClientTrustConfig is accepted too)",
    )
    vb.add_argument(
        "--trust-config",
        metavar="FILE",
        help="a Sigstore ClientTrustConfig JSON, as every other command takes",
    )
    vb.add_argument("file_or_digest", metavar="FILE_OR_DIGEST", help="the artifact, or sha256:<64 hex>")

    policy = sub.add_parser(
        "policy",
        help="approve, list or revoke project policy files (sigstore-policy.toml found beside notebooks)",
        description="A policy file that arrives with the notebooks it judges (a cloned repository) is "
        "honoured by JupyterLab only once you approved that exact file, by its hash.",
    )
    policy_sub = policy.add_subparsers(dest="policy_command", metavar="ACTION", required=True)
    show = policy_sub.add_parser("show", help="show what a policy file trusts, and its sha256")
    show.add_argument("file", metavar="FILE")
    approve = policy_sub.add_parser("approve", help="approve a policy file as it is now")
    approve.add_argument("file", metavar="FILE")
    approve.add_argument(
        "--sha256", metavar="HEX", help="refuse unless the file still has this hash (as you reviewed it)"
    )
    revoke = policy_sub.add_parser("revoke", help="withdraw an approval (by file or by sha256)")
    revoke.add_argument("file", metavar="FILE_OR_SHA256")
    policy_sub.add_parser("list", help="list approved policy files")

    trust = sub.add_parser("trust", help="manage the cached Sigstore trusted root")
    trust_sub = trust.add_subparsers(dest="trust_command", metavar="ACTION", required=True)
    update = trust_sub.add_parser("update", help="refresh the TUF-backed trusted root (needs the network)")
    update.add_argument("--staging", action="store_true", help="refresh the staging instance's root")
    trust_sub.add_parser("status", help="show which trusted roots are cached and how old they are")


def _warn_if_stale(instance_name: str) -> None:
    from .trustroot import stale_warning

    warning = stale_warning(instance_name)
    if warning:
        print(warning, file=sys.stderr)


def _cmd_keygen(args: argparse.Namespace) -> int:
    from .keys import generate_keypair, read_password

    password = None if args.no_password else read_password(confirm=True)
    private, public = generate_keypair(args.output, password)
    print(f"wrote private key {private} ({'unencrypted' if password is None else 'encrypted'})")
    print(f"wrote public key {public}; share it with verifiers: jupyter-sigstore verify --key {public} ...")
    return EXIT_OK


def _cmd_verify_bundle(args: argparse.Namespace) -> int:
    from .conformance import load_trusted_root, verify_bundle_file
    from .errors import BundleError, UsageError

    if args.key and (args.certificate_identity or args.certificate_oidc_issuer):
        raise UsageError("--key cannot be combined with --certificate-identity/--certificate-oidc-issuer")
    if not args.key and not (args.certificate_identity and args.certificate_oidc_issuer):
        raise UsageError("give --certificate-identity and --certificate-oidc-issuer, or --key")
    key = None
    if args.key:
        from .keys import load_public_key

        key = load_public_key(args.key)
    roots = (
        ("--trusted-root", args.trusted_root),
        ("--trust-config", args.trust_config),
        ("--staging", args.staging),
    )
    given = [flag for flag, value in roots if value]
    if len(given) > 1:
        raise UsageError(f"{' and '.join(given)} cannot be combined: they each name the trusted root")
    if not (args.trusted_root or args.trust_config):
        _warn_if_stale("staging" if args.staging else "production")
    root = load_trusted_root(args.trusted_root or args.trust_config, staging=args.staging)
    try:
        result = verify_bundle_file(
            args.bundle,
            args.file_or_digest,
            identity=args.certificate_identity,
            issuer=args.certificate_oidc_issuer,
            key=key,
            trusted_root=root,
        )
    except BundleError as exc:
        print(f"FAILED: {exc}", file=sys.stderr)
        return EXIT_FAILED
    print(f"OK: {args.file_or_digest} ({result.matched}) signed by {result.signer}")
    return EXIT_OK


def _cmd_trust(args: argparse.Namespace) -> int:
    from .trustroot import trust_status, update_trust_root

    if args.trust_command == "update":
        from .errors import TrustConfigError

        try:
            print(update_trust_root(staging=args.staging))
        except TrustConfigError as exc:  # the network failed, not the user: exit 1, not 2
            _error(exc)
            return EXIT_FAILED
        return EXIT_OK
    print(trust_status())
    return EXIT_OK


def _cmd_policy(args: argparse.Namespace) -> int:
    from . import approvals
    from .render import escape_terminal

    if args.policy_command == "list":
        entries = approvals.approvals()
        lines = [f"{a.sha256[:16]}…  {a.approved_at}  {a.path}" for a in entries] or [
            "no approved policy files"
        ]
    elif args.policy_command == "revoke":
        if not approvals.revoke(args.file):
            print(f"error: no approval for {escape_terminal(args.file)}", file=sys.stderr)
            return EXIT_FAILED
        lines = [f"revoked the approval of {args.file}"]
    else:
        import hashlib
        from pathlib import Path

        from .policy import load_policy, read_bounded

        path = Path(args.file)
        digest = hashlib.sha256(read_bounded(path, "policy file")).hexdigest()
        if args.policy_command == "show":
            lines = [f"{path}: sha256 {digest}", f"  {load_policy(path).describe()}"]
        else:
            approval = approvals.approve(path, sha256=args.sha256)
            lines = [f"approved {approval.path} (sha256 {approval.sha256})"]
    print("\n".join(escape_terminal(line) for line in lines))
    return EXIT_OK


def _cmd_inspect(args: argparse.Namespace) -> int:
    import json

    from . import api

    info = api.inspect(args.notebook)
    print(json.dumps(info.to_dict(), indent=2) if args.json else api.render_inspection(info))
    return EXIT_OK


def _cmd_digest(args: argparse.Namespace | SimpleNamespace) -> int:
    from .api import digest
    from .hashing import FileHash
    from .walking import listing_needs_escape

    results, notes = digest(
        args.paths,
        exclude=args.exclude,
        follow_symlinks=args.follow_symlinks,
        jobs=args.jobs,
        progress=True,
        dask=args.dask,
    )
    if notes:
        from .render import escape_terminal

        for note in notes:
            print(f"note: {escape_terminal(note)}", file=sys.stderr)
    lines = [f"sha256:{r[0]}  {f[0]}\n" for f, r in results if type(r) is FileHash]
    failures = [r for _, r in results if not isinstance(r, FileHash)] if len(lines) < len(results) else []
    for failure in failures:
        _error(failure)
    text = "".join(lines)  # built the cheapest way measured, then escaped only if a name needs it
    if listing_needs_escape(text, len(lines)):
        text = "".join([_checksum_line(r[0], f[0]) for f, r in results if type(r) is FileHash])
    sys.stdout.flush()
    # Names are written back as the bytes they are on disk (like sha256sum), UTF-8 or not.
    sys.stdout.buffer.write(text.encode("utf-8", "surrogateescape"))
    sys.stdout.flush()
    return EXIT_FAILED if failures else EXIT_OK


def _checksum_line(sha256: str, name: str) -> str:
    """A ``digest`` output line, the name escaped as ``sha256sum`` escapes it."""
    from .walking import escape_name

    text, escaped = escape_name(name)
    lead = "\\" if escaped else ""
    return f"{lead}sha256:{sha256}  {text}\n"


def _plain_digest_args(argv: Sequence[str]) -> SimpleNamespace | None:
    """Parse ``digest PATH... [--exclude P] [--follow-symlinks] [--jobs N]`` without argparse, whose
    import costs more than hashing many small files; None for anything else (``--help``, ``--opt=v``,
    abbreviations, mistakes), which the full parser then handles. Accepts only what argparse reads
    the same way: paths in one run, options before or after them."""
    if not argv or argv[0] != "digest":
        return None
    paths: list[str] = []
    exclude: list[str] = []
    follow, jobs = False, None
    paths_ended = False
    rest = iter(argv[1:])
    for arg in rest:
        if not arg.startswith("-") or arg == "-":
            if paths_ended or arg == "-":
                return None
            paths.append(arg)
            continue
        paths_ended = bool(paths)
        if arg == "--follow-symlinks":
            follow = True
        elif arg in ("--exclude", "--jobs", "-j"):
            value = next(rest, None)
            if value is None or value.startswith("-"):
                return None
            if arg == "--exclude":
                exclude.append(value)
            elif value.isdigit() and value.isascii() and int(value) >= 1:
                jobs = int(value)
            else:
                return None
        else:
            return None
    if not paths:
        return None
    from types import SimpleNamespace

    return SimpleNamespace(
        command="digest", paths=paths, exclude=exclude, follow_symlinks=follow, jobs=jobs, dask=None
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from .cli_reproducibility import cmd_run

    return cmd_run(args)


def _cmd_reproduce(args: argparse.Namespace) -> int:
    from .cli_reproducibility import cmd_reproduce

    return cmd_reproduce(args)


COMMANDS = {
    "run": _cmd_run,
    "reproduce": _cmd_reproduce,
    "sign": _cmd_sign,
    "upgrade": _cmd_sign,
    "verify": _cmd_verify,
    "inspect": _cmd_inspect,
    "keygen": _cmd_keygen,
    "verify-bundle": _cmd_verify_bundle,
    "trust": _cmd_trust,
    "policy": _cmd_policy,
    "digest": _cmd_digest,
}


_WITHOUT_GC = frozenset({"sign", "upgrade", "verify", "digest"})
"""Commands that end soon and make few reference cycles: cyclic garbage collection only costs them
time (measured: 0.09 s of a verify of 100,000 outputs, 6% of a digest of 100,000 small files), and
what cycles they make go with the process. ``run`` and ``reproduce``, which drive a kernel for as long
as a notebook runs, keep it."""


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    argv = sys.argv[1:] if argv is None else list(argv)
    args: Any = _plain_digest_args(argv)
    if args is None:
        parser = _build_parser()
        args = parser.parse_args(argv)
        if args.command is None:
            parser.print_help()
            return EXIT_USAGE
    import gc

    collecting = gc.isenabled()
    if args.command in _WITHOUT_GC:
        gc.disable()
    try:
        return COMMANDS[args.command](args)
    except (IdentityError, SigningError) as exc:
        _error(exc)
        return EXIT_FAILED
    except SigstoreNotebookError as exc:
        _error(exc)
        return EXIT_USAGE
    except BrokenPipeError:  # e.g. `jupyter-sigstore verify --json nb.ipynb | head`
        sys.stderr.close()
        return EXIT_FAILED
    except KeyboardInterrupt:
        print("interrupted; nothing was written", file=sys.stderr)
        return 130
    except Exception as exc:
        if os.environ.get("JUPYTER_SIGSTORE_DEBUG"):
            raise
        from .render import escape_terminal

        print(
            f"internal error: {type(exc).__name__}: {escape_terminal(str(exc))} "
            "(set JUPYTER_SIGSTORE_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED
    finally:
        if collecting:
            gc.enable()  # main may run in a longer-lived process (tests, a script)


def _error(exc: BaseException) -> None:
    from .render import escape_terminal

    print(f"error: {escape_terminal(str(exc))}", file=sys.stderr)


def run() -> int:
    """The console entry point: :func:`main`, then leave out the last garbage collection.

    At exit the interpreter collects every object the command made; after signing or verifying
    (sigstore, pydantic, cryptography loaded) that took about 0.2 s here. Frozen objects are not
    collected: their memory goes back to the OS with the process. ``atexit`` handlers, stream
    flushing and module cleanup still run.
    """
    code = main()
    import gc

    gc.freeze()
    return code


if __name__ == "__main__":
    sys.exit(run())
