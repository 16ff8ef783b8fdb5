"""Frames between the server and its worker processes: two lengths, orjson, then raw bytes.

A frame is an 8-byte header (the sizes of the JSON part and of the payload), the message as
orjson, then the payload. A message's ``payload`` value (bytes) travels as the payload, never
as JSON: a batch's input lines and its output lines (tens of KB each, mostly quotes) go through
as they are, with no escaping on one side and unescaping on the other, and the server streams
the answer's payload to the client without looking inside it.

May import: the standard library and orjson.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

import orjson

__all__ = ["HEADER", "MAX_FRAME", "PAYLOAD", "decode", "encode", "read_frame", "sizes", "write_frame"]

HEADER = struct.Struct(">II")  # the JSON part's size, the payload's size
MAX_FRAME = 256 * 1024 * 1024  # a frame larger than this is a broken stream, not a message
PAYLOAD = "payload"


def _parts(message: dict[str, Any]) -> tuple[bytes, bytes]:
    """A frame in two pieces: the header with the message (but its payload) as JSON; the payload."""
    payload: bytes = message.get(PAYLOAD, b"")
    body = orjson.dumps({k: v for k, v in message.items() if k != PAYLOAD} if PAYLOAD in message else message)
    return HEADER.pack(len(body), len(payload)) + body, payload


def encode(message: dict[str, Any]) -> bytes:
    """One frame: the header, the message (but its payload) as JSON, the payload."""
    head, payload = _parts(message)
    return head + payload


def sizes(header: bytes) -> tuple[int, int]:
    """The JSON part's and the payload's sizes in a frame's header; ValueError past the bound."""
    size, payload = HEADER.unpack(header)
    if size + payload > MAX_FRAME:
        msg = f"frame of {size + payload} bytes"
        raise ValueError(msg)
    return size, payload


def decode(body: bytes, payload: bytes = b"") -> dict[str, Any]:
    """The message in a frame's JSON part, with its payload (if any) under ``payload``."""
    message = orjson.loads(body)
    if not isinstance(message, dict):
        msg = "a frame holds a JSON object"
        raise ValueError(msg)
    if payload:
        message[PAYLOAD] = payload
    return message


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """Read one frame from a blocking stream (the worker's side); None at end of stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    size, length = sizes(header)
    body = stream.read(size)
    payload = stream.read(length) if length else b""
    if len(body) < size or len(payload) < length:
        return None
    return decode(body, payload)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    """Write one frame to a blocking stream and flush it."""
    head, payload = _parts(message)
    stream.write(head)
    if payload:  # written from its own buffer (a large one is not copied into the stream's)
        stream.write(payload)
    stream.flush()
