"""OpenID Connect for keyless signing: one set of flows, used by the CLI, the kernel and the server.

- :mod:`.tokens`: reading an ID token's claims into a :class:`~.tokens.Login` (expiry, audience, issuer,
  nonce checks; never the token text in an error).
- :mod:`.grants`: the OAuth flows as plain functions without I/O (PKCE, authorization URL, device
  authorization, token-endpoint forms and answers, the device-polling decisions).
- :mod:`.discovery`: the issuer named by the instance's trust config and its discovery document.
- :mod:`.sources`: tokens found without asking anyone (``$SIGSTORE_ID_TOKEN``, ambient CI credentials), a
  token read from a file or stdin, and the client id setting.
- :mod:`.sync_transport` (requests; the kernel) and :mod:`.async_transport` (tornado; the server): HTTP
  and the device-polling loop, nothing else.
- :mod:`.terminal`: the CLI's way to an identity token.

The OAuth client id (``sigstore`` unless configured) is both the ``client_id`` sent to the issuer and the
audience an ID token must name: Fulcio checks the audience against the client id it was configured with
for that issuer.
"""
