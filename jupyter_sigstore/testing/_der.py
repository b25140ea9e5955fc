"""Just enough DER (ASN.1) encoding and decoding for the test TSA and certificate extensions."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

TAG_BOOLEAN = 0x01
TAG_INTEGER = 0x02
TAG_OCTET_STRING = 0x04
TAG_NULL = 0x05
TAG_OID = 0x06
TAG_UTF8_STRING = 0x0C
TAG_GENERALIZED_TIME = 0x18
TAG_SEQUENCE = 0x30
TAG_SET = 0x31


def tlv(tag: int, content: bytes) -> bytes:
    """Encode one tag-length-value triple (single-byte tags only)."""
    length = len(content)
    if length < 0x80:
        header = bytes([length])
    else:
        raw = length.to_bytes((length.bit_length() + 7) // 8, "big")
        header = bytes([0x80 | len(raw)]) + raw
    return bytes([tag]) + header + content


def sequence(*items: bytes) -> bytes:
    return tlv(TAG_SEQUENCE, b"".join(items))


def set_of(*items: bytes) -> bytes:
    """A DER SET OF: members sorted by their encodings."""
    return tlv(TAG_SET, b"".join(sorted(items)))


def integer(value: int) -> bytes:
    length = max(1, (value.bit_length() + 8) // 8)
    return tlv(TAG_INTEGER, value.to_bytes(length, "big", signed=True))


def oid(dotted: str) -> bytes:
    arcs = [int(part) for part in dotted.split(".")]
    body = bytearray()
    for arc in [arcs[0] * 40 + arcs[1], *arcs[2:]]:
        chunk = [arc & 0x7F]
        arc >>= 7
        while arc:
            chunk.append(0x80 | (arc & 0x7F))
            arc >>= 7
        body.extend(reversed(chunk))
    return tlv(TAG_OID, bytes(body))


def octet_string(value: bytes) -> bytes:
    return tlv(TAG_OCTET_STRING, value)


def utf8_string(value: str) -> bytes:
    return tlv(TAG_UTF8_STRING, value.encode("utf-8"))


def null() -> bytes:
    return tlv(TAG_NULL, b"")


def boolean(value: bool) -> bytes:
    return tlv(TAG_BOOLEAN, b"\xff" if value else b"\x00")


def generalized_time(moment: datetime) -> bytes:
    text = moment.astimezone(timezone.utc).strftime("%Y%m%d%H%M%SZ")
    return tlv(TAG_GENERALIZED_TIME, text.encode("ascii"))


def explicit(number: int, content: bytes) -> bytes:
    """A context-specific, constructed ``[number] EXPLICIT`` wrapper."""
    return tlv(0xA0 | number, content)


@dataclass(frozen=True)
class Node:
    """One decoded DER element: its tag, its content octets and its full encoding."""

    tag: int
    content: bytes
    raw: bytes

    def children(self) -> list[Node]:
        return parse_all(self.content)

    def as_int(self) -> int:
        if self.tag != TAG_INTEGER:
            raise ValueError("not an INTEGER")
        return int.from_bytes(self.content, "big", signed=True)


def parse_one(data: bytes, offset: int = 0) -> tuple[Node, int]:
    """Decode the element starting at ``offset``; return it and the offset after it."""
    if offset + 2 > len(data):
        raise ValueError("truncated DER")
    tag = data[offset]
    if tag & 0x1F == 0x1F:
        raise ValueError("multi-byte tags are not supported")
    first = data[offset + 1]
    pos = offset + 2
    if first < 0x80:
        length = first
    else:
        count = first & 0x7F
        if count == 0 or count > 4 or pos + count > len(data):
            raise ValueError("bad DER length")
        length = int.from_bytes(data[pos : pos + count], "big")
        pos += count
    end = pos + length
    if end > len(data):
        raise ValueError("truncated DER")
    return Node(tag, data[pos:end], data[offset:end]), end


def parse_all(data: bytes) -> list[Node]:
    nodes: list[Node] = []
    offset = 0
    while offset < len(data):
        node, offset = parse_one(data, offset)
        nodes.append(node)
    return nodes


def parse_single(data: bytes) -> Node:
    node, end = parse_one(data)
    if end != len(data):
        raise ValueError("trailing data after DER element")
    return node
