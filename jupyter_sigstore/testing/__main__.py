"""Run the loopback Sigstore **test double** (tests and the offline demo only; never real signing).

    python -m jupyter_sigstore.testing serve --trust-config-out tc.json \\
        [--rekor-version 1|2] [--token-out token.txt --identity alice@example.com]

Starts the instance, writes the ClientTrustConfig (and optionally a minted identity token),
prints one line with the URLs and serves until SIGINT or SIGTERM.
"""

from __future__ import annotations

import argparse
import signal
import sys
import threading
from pathlib import Path
from types import FrameType

from .instance import LocalSigstore


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
    serve.add_argument("--identity", default="alice@example.com")
    serve.add_argument("--token-lifetime", type=int, default=3600, help="seconds (default: %(default)s)")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 lets the OS choose")
    return parser


def main(argv: list[str] | None = None) -> int:
    args = _parser().parse_args(argv)
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
        instance.write_trust_config(args.trust_config_out)
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


if __name__ == "__main__":
    sys.exit(main())
