"""Run the loopback Sigstore **test double** (tests, docs and the offline demo only; never real signing).

    python -m jupyter_sigstore.testing serve --trust-config-out tc.json [--rekor-version 1|2]
        [--token-out token.txt --identity alice@example.com] [--token-lifetime SECONDS]
    python -m jupyter_sigstore.testing token bob@example.com [--trust-config tc.json]
        [--issuer URL] [--lifetime SECONDS]

``serve`` starts the instance, writes its ClientTrustConfig (and optionally a token), prints one line
with the URLs and serves until SIGINT or SIGTERM. ``token`` asks a running instance (found through
its trust config, by default ``$JUPYTER_SIGSTORE_TRUST_CONFIG``) for an identity token for anyone, and
prints it. See docs/testing-instance.md.
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path
from types import FrameType

from ..instance import TRUST_CONFIG_ENV
from .instance import MINT_PATH, LocalSigstore


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m jupyter_sigstore.testing",
        description="Loopback Sigstore test instance (NOT for real signing).",
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the instance until interrupted")
    serve.add_argument("--rekor-version", type=int, choices=(1, 2), default=1)
    serve.add_argument("--trust-config-out", type=Path, required=True, metavar="FILE")
    serve.add_argument("--token-out", type=Path, metavar="FILE", help="write a minted token")
    serve.add_argument(
        "--identity", default="alice@example.com", help="who --token-out and interactive sign-ins are for"
    )
    serve.add_argument("--token-lifetime", type=int, default=3600, help="seconds (default: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 lets the OS choose")

    token = commands.add_parser("token", help="print an identity token from a running instance")
    token.add_argument("identity", help="the identity (an e-mail address) the token is for")
    token.add_argument(
        "--trust-config",
        type=Path,
        metavar="FILE",
        help=f"the running instance's trust config (default: ${TRUST_CONFIG_ENV})",
    )
    token.add_argument(
        "--issuer", metavar="URL", help="the issuer the token claims (default: the instance's)"
    )
    token.add_argument("--lifetime", type=int, default=3600, help="seconds (default: %(default)s)")
    return parser


def _serve(args: argparse.Namespace) -> int:
    stop = threading.Event()

    def _on_signal(signum: int, frame: FrameType | None) -> None:
        stop.set()

    signal.signal(signal.SIGINT, _on_signal)
    signal.signal(signal.SIGTERM, _on_signal)
    instance = LocalSigstore(
        rekor_version=args.rekor_version,
        host=args.host,
        port=args.port,
        login_identity=args.identity,
        token_lifetime=args.token_lifetime,
    )
    with instance:
        # written whole and then renamed, so whoever waits for the file never reads half of it
        partial = args.trust_config_out.with_name(args.trust_config_out.name + ".partial")
        instance.write_trust_config(partial)
        partial.replace(args.trust_config_out)
        if args.token_out is not None:
            token = instance.mint_token(args.identity, expires_in=args.token_lifetime)
            args.token_out.write_text(token + "\n", encoding="utf-8")
            args.token_out.chmod(0o600)
        print(
            f"jupyter-sigstore test instance (NOT for real signing): fulcio={instance.fulcio_url} "
            f"rekor={instance.rekor_url} tsa={instance.tsa_url if instance.use_tsa else '-'} "
            f"oidc={instance.issuer_url} trust-config={args.trust_config_out}",
            flush=True,
        )
        while not stop.wait(0.5):
            pass
    return 0


def _instance_url(trust_config: Path) -> str:
    """The test instance's base URL: where its Fulcio is (the signing config's first CA URL)."""
    try:
        config = json.loads(trust_config.read_text(encoding="utf-8"))
        url = config["signingConfig"]["caUrls"][0]["url"]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        raise SystemExit(f"error: {trust_config} is not a test instance's trust config ({exc})") from None
    if not isinstance(url, str) or not url.startswith("http"):
        raise SystemExit(f"error: {trust_config} names no instance URL")
    return url.rstrip("/")


def _token(args: argparse.Namespace) -> int:
    config = args.trust_config or (
        Path(os.environ[TRUST_CONFIG_ENV]) if os.environ.get(TRUST_CONFIG_ENV) else None
    )
    if config is None:
        raise SystemExit(f"error: give --trust-config FILE (or set ${TRUST_CONFIG_ENV})")
    form = {"identity": args.identity, "expires_in": str(args.lifetime)}
    if args.issuer:
        form["issuer"] = args.issuer
    request = urllib.request.Request(
        _instance_url(config) + MINT_PATH, data=urllib.parse.urlencode(form).encode("ascii"), method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            token = json.load(response)["token"]
    except (OSError, ValueError, KeyError) as exc:
        raise SystemExit(
            f"error: no token from the test instance of {config} (is it running?): {exc}"
        ) from None
    print(token)
    return 0


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    return _serve(args) if args.command == "serve" else _token(args)


if __name__ == "__main__":
    sys.exit(main())
