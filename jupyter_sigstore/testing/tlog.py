"""An in-memory RFC 6962 Merkle log with signed checkpoints (transparency-dev note format)."""

from __future__ import annotations

import base64
import hashlib
import threading

from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from .ctlog import key_id


def leaf_hash(leaf: bytes) -> bytes:
    return hashlib.sha256(b"\x00" + leaf).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    return hashlib.sha256(b"\x01" + left + right).digest()


def _split(size: int) -> int:
    """Largest power of two strictly smaller than ``size`` (RFC 6962 section 2.1)."""
    return 1 << ((size - 1).bit_length() - 1)


class MerkleLog:
    """Append-only log of canonical entry bodies; thread safe."""

    def __init__(self, origin: str) -> None:
        if any(ch.isspace() for ch in origin):
            raise ValueError("checkpoint origin must not contain whitespace")
        self.origin = origin
        #: The checkpoint signer's name; sigstore-js requires it to occur in the log's base URL
        #: (real Rekor signs as its host name), so LocalSigstore sets it to the server's host.
        self.signer_name = origin
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.public_key = self.private_key.public_key()
        self.log_id = key_id(self.public_key)
        self.bodies: list[bytes] = []
        self.leaf_hashes: list[bytes] = []
        # Roots of complete power-of-two subtrees, by (first leaf, size): in an append-only log they
        # never change, so a root or proof costs O(log n) hashes instead of rehashing every leaf.
        self._subtrees: dict[tuple[int, int], bytes] = {}
        self.lock = threading.Lock()

    def append(self, body: bytes) -> int:
        """Append ``body`` and return its index (call with ``lock`` held)."""
        self.bodies.append(body)
        self.leaf_hashes.append(leaf_hash(body))
        return len(self.bodies) - 1

    def root(self, size: int | None = None) -> bytes:
        """The RFC 6962 tree hash of the first ``size`` entries (default: all)."""
        return self._hash(0, len(self.leaf_hashes) if size is None else size)

    def proof(self, index: int, size: int) -> list[bytes]:
        """The audit path, bottom-up, for entry ``index`` in the tree of the first ``size`` entries."""
        return self._path(index, 0, size)

    def _hash(self, lo: int, hi: int) -> bytes:
        n = hi - lo
        if n <= 1:
            return self.leaf_hashes[lo] if n == 1 else hashlib.sha256(b"").digest()
        perfect = n & (n - 1) == 0
        if perfect and (lo, n) in self._subtrees:
            return self._subtrees[(lo, n)]
        k = _split(n)
        value = node_hash(self._hash(lo, lo + k), self._hash(lo + k, hi))
        if perfect:
            self._subtrees[(lo, n)] = value
        return value

    def _path(self, index: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo <= 1:
            return []
        mid = lo + _split(hi - lo)
        if index < mid:
            return [*self._path(index, lo, mid), self._hash(mid, hi)]
        return [*self._path(index, mid, hi), self._hash(lo, mid)]

    def sign(self, data: bytes) -> bytes:
        return self.private_key.sign(data, ec.ECDSA(hashes.SHA256()))

    def checkpoint(self, size: int) -> str:
        """A signed note: ``origin``, size, base64 root; key hint = first 4 bytes of log id."""
        note = f"{self.origin}\n{size}\n{base64.b64encode(self.root(size)).decode()}\n"
        signature = base64.b64encode(self.log_id[:4] + self.sign(note.encode())).decode()
        return f"{note}\n\u2014 {self.signer_name} {signature}\n"
