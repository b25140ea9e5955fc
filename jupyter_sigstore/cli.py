"""The ``jupyter-sigstore`` command line (also ``jupyter sigstore``).

Exit codes: 0 success (for verify: every notebook ``verified``), 1 a verification or signing failure,
2 usage errors or unreadable input. Errors are one line on stderr, never a traceback. Heavy modules
are imported inside each command so that quick commands start fast.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from . import __version__
from .errors import IdentityError, SigningError, SigstoreNotebookError

EXIT_OK, EXIT_FAILED, EXIT_USAGE = 0, 1, 2


def _add_instance_options(parser: argparse.ArgumentParser) -> None:
    group = parser.add_argument_group("Sigstore instance (default: public-good production)")
    group.add_argument("--staging", action="store_true", help="use the public-good staging instance")
    group.add_argument(
        "--trust-config",
        metavar="FILE",
        help="a Sigstore ClientTrustConfig JSON for a private or test instance",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="jupyter-sigstore",
        description="Sign Jupyter notebooks and their data outputs with Sigstore, and verify them.",
    )
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
        help="a data output file to include (repeatable; relative to the current directory)",
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
        help="add a further signature over the same, unchanged content, keeping earlier ones",
    )
    sign.add_argument(
        "--allow-outside",
        action="store_true",
        help="allow outputs outside the notebook's folder (named with ../ in the signature)",
    )
    ident = sign.add_argument_group("identity (first found wins)")
    ident.add_argument(
        "--identity-token", metavar="TOKEN", help="an OIDC identity token (else $SIGSTORE_ID_TOKEN)"
    )
    ident.add_argument(
        "--oauth-force-oob",
        action="store_true",
        help="interactive login: print a URL and read the code instead of opening a browser",
    )
    sign.add_argument("--json", action="store_true", help="print the result as JSON")
    _add_instance_options(sign)

    verify = sub.add_parser("verify", help="verify notebooks (files or folders) and their outputs")
    verify.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help=".ipynb files or folders")
    verify.add_argument("--cert-identity", metavar="IDENTITY", help="the signer identity to trust")
    verify.add_argument("--cert-oidc-issuer", metavar="URL", help="the OIDC issuer of that identity")
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
    verify.add_argument("--json", action="store_true", help="print the report as JSON")
    _add_instance_options(verify)

    inspect = sub.add_parser("inspect", help="show what a notebook's signatures claim (without verifying)")
    inspect.add_argument("notebook")
    inspect.add_argument("--json", action="store_true", help="print as JSON")
    return parser


def _instance(args: argparse.Namespace) -> Any:
    from .trust import Instance

    return Instance.select(staging=args.staging, trust_config=args.trust_config)


def _cmd_sign(args: argparse.Namespace) -> int:
    from .identity import obtain_token
    from .signing import KeylessSigner, sign_notebook
    from .storage import load_notebook

    instance = _instance(args)
    # Read the notebook first so a bad notebook never costs an interactive login.
    load_notebook(Path(args.notebook))
    token = obtain_token(instance, explicit=args.identity_token, force_oob=args.oauth_force_oob)
    result = sign_notebook(
        args.notebook,
        KeylessSigner(instance, token),
        outputs=args.output,
        sidecar=args.sidecar,
        detached=args.detached,
        allow_outside=args.allow_outside,
        countersign=args.countersign,
        instance=instance,
    )
    bundle = json.loads(result.bundle_json)
    entries = bundle.get("verificationMaterial", {}).get("tlogEntries") or [{}]
    if args.json:
        print(
            json.dumps(
                {
                    "notebook": str(result.notebook),
                    "identity": str(token.identity),
                    "issuer": token.issuer,
                    "notebook_digest": result.notebook_digest,
                    "outputs": [{"path": o.path, "sha256": o.sha256, "size": o.size} for o in result.outputs],
                    "log_index": entries[0].get("logIndex"),
                    "sidecar": str(result.sidecar) if result.sidecar else None,
                    "signatures": result.signatures,
                },
                indent=2,
            )
        )
        return EXIT_OK
    what = "countersigned" if args.countersign else "signed"
    print(f"{what} {result.notebook} as {token.identity} (issuer {token.issuer})")
    print(f"  notebook sha256 (canonical v1): {result.notebook_digest}")
    for out in result.outputs:
        print(f"  output {out.path}: sha256 {out.sha256}")
    if entries[0].get("logIndex") is not None:
        print(f"  transparency log index: {entries[0]['logIndex']}")
    if result.sidecar:
        print(f"  bundle written to {result.sidecar}")
    if result.replaced:
        print(f"  replaced {result.replaced} earlier signature(s)")
    return EXIT_OK


def _find_notebooks(specs: Sequence[str]) -> list[Path]:
    from .errors import UsageError

    found: list[Path] = []
    for spec in specs:
        path = Path(spec)
        if path.is_dir():
            matches = sorted(
                p for p in path.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts and p.is_file()
            )
            if not matches:
                raise UsageError(f"folder {spec} holds no .ipynb notebook")
            found += matches
        else:
            found.append(path)
    return found


def _cmd_verify(args: argparse.Namespace) -> int:
    from .errors import UsageError
    from .policy import TrustPolicy
    from .verifying import verify_notebook

    if (args.cert_identity is None) != (args.cert_oidc_issuer is None):
        raise UsageError("--cert-identity and --cert-oidc-issuer must be given together")
    policy = TrustPolicy.exact(args.cert_identity, args.cert_oidc_issuer) if args.cert_identity else None
    instance = _instance(args)
    notebooks = _find_notebooks(args.notebooks)
    if args.bundle and len(notebooks) != 1:
        raise UsageError("--bundle needs exactly one notebook")
    bundles = [Path(b) for b in args.bundle] if args.bundle else None
    reports = [
        verify_notebook(
            nb, policy=policy, instance=instance, bundles=bundles, allow_outside=args.allow_outside
        )
        for nb in notebooks
    ]
    single = len(args.notebooks) == 1 and not Path(args.notebooks[0]).is_dir()
    if args.json:
        if single:
            print(json.dumps(reports[0].to_dict(), indent=2))
        else:
            overall = "verified" if all(r.ok for r in reports) else "failed"
            print(json.dumps({"status": overall, "notebooks": [r.to_dict() for r in reports]}, indent=2))
    else:
        print("\n".join(r.render_text() for r in reports))
        if policy is None and any(r.status == "untrusted-signer" for r in reports):
            print("hint: pass --cert-identity and --cert-oidc-issuer to say whom you trust", file=sys.stderr)
    return EXIT_OK if all(r.ok for r in reports) else EXIT_FAILED


def _cmd_inspect(args: argparse.Namespace) -> int:
    from .inspecting import inspect_notebook

    info = inspect_notebook(Path(args.notebook))
    if args.json:
        print(json.dumps(info.to_dict(), indent=2))
    else:
        print(info.render_text())
    return EXIT_OK


COMMANDS = {"sign": _cmd_sign, "verify": _cmd_verify, "inspect": _cmd_inspect}


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code."""
    parser = _build_parser()
    args = parser.parse_args(argv)
    if args.command is None:
        parser.print_help()
        return EXIT_USAGE
    try:
        return COMMANDS[args.command](args)
    except (IdentityError, SigningError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    except SigstoreNotebookError as exc:
        print(f"error: {exc}", file=sys.stderr)
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
        print(
            f"internal error: {type(exc).__name__}: {exc} (set JUPYTER_SIGSTORE_DEBUG=1 for details)",
            file=sys.stderr,
        )
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
