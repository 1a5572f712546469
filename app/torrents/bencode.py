"""A minimal bencode encoder for tracker responses (BEP 3).

The tracker answers in the web process, which has no other use for libtorrent; encoding a
handful of keys does not need it.
"""

from __future__ import annotations


def bencode(value: object) -> bytes:
    """Encode ``value``; dictionary keys are sorted as raw bytes, as the format requires."""
    out: list[bytes] = []
    _encode(value, out)
    return b"".join(out)


def _encode(value: object, out: list[bytes]) -> None:
    if isinstance(value, bool):  # bool is an int; refuse it rather than send 0/1 by accident
        raise TypeError("bencode has no booleans")
    if isinstance(value, int):
        out.append(b"i%de" % value)
    elif isinstance(value, str):
        _encode(value.encode(), out)
    elif isinstance(value, bytes):
        out.append(b"%d:" % len(value))
        out.append(value)
    elif isinstance(value, list):
        out.append(b"l")
        for item in value:
            _encode(item, out)
        out.append(b"e")
    elif isinstance(value, dict):
        out.append(b"d")
        items = [(k.encode() if isinstance(k, str) else k, v) for k, v in value.items()]
        for key, item in sorted(items):
            _encode(key, out)
            _encode(item, out)
        out.append(b"e")
    else:
        raise TypeError(f"cannot bencode {type(value).__name__}")


def failure(reason: str) -> bytes:
    """A tracker failure response (BEP 3 ``failure reason``)."""
    return bencode({"failure reason": reason})
