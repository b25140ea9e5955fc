"""A loopback Sigstore **test double**, for tests and the offline demo only.

``LocalSigstore`` runs a Fulcio-like CA (with a CT log signing embedded SCTs), a Rekor v1
or v2 transparency log, an RFC 3161 timestamp authority and an OpenID Connect issuer on
127.0.0.1, all with throw-away keys generated at start-up. The real sigstore-python
signing and verification code runs against it unchanged via a ClientTrustConfig.

Never use it for real signing: its keys live in memory, its issuer signs any identity you
ask for, and nothing it produces means anything to anyone else.

    from jupyter_sigstore.testing import LocalSigstore

    with LocalSigstore(rekor_version=2) as inst:
        config = inst.trust_config()          # ClientTrustConfig JSON (dict)
        token = inst.mint_token("alice@example.com")
"""

from __future__ import annotations

from .instance import LocalSigstore

__all__ = ["LocalSigstore"]
