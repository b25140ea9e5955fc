"""Data outputs on object storage and other fsspec URLs (``s3://``, ``gs://``, ``az://``, ``https://``...).

- :mod:`.urls`: which output specs are URLs, what a URL may hold, and the fsspec file system for it
  (credentials from each backend's standard configuration, never from the URL).
- :mod:`.objects`: a listed object and a hashed one (what a signature names: URL, sha256, size,
  version id and ETag).
- :mod:`.listing`: objects, prefixes and glob patterns, with the local folders' exclude rules.
- :mod:`.streaming`: the objects' bytes streamed and hashed in parallel, in bounded memory.
- :mod:`.checking`: signing's selection and hashing, and verification's comparison (``modified``,
  ``missing``, ``added``, and whether the signed version still exists).
- :mod:`.cluster`: the same hashing spread over a Dask cluster.

Only :mod:`.urls`' :func:`~.urls.is_url` is light to import; the rest loads fsspec.
"""
