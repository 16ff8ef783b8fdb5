"""Frames between the server and its worker processes: a 4-byte length, then orjson.

May import: the standard library and orjson.
"""

from __future__ import annotations

import struct
from typing import Any, BinaryIO

import orjson

__all__ = ["HEADER", "MAX_FRAME", "decode", "encode", "read_frame", "write_frame"]

HEADER = struct.Struct(">I")
MAX_FRAME = 256 * 1024 * 1024  # a frame larger than this is a broken stream, not a message


def encode(message: dict[str, Any]) -> bytes:
    """One frame: length prefix and the message as JSON."""
    body = orjson.dumps(message)
    return HEADER.pack(len(body)) + body


def decode(body: bytes) -> dict[str, Any]:
    """The message in a frame's body."""
    message = orjson.loads(body)
    if not isinstance(message, dict):
        msg = "a frame holds a JSON object"
        raise ValueError(msg)
    return message


def read_frame(stream: BinaryIO) -> dict[str, Any] | None:
    """Read one frame from a blocking stream (the worker's side); None at end of stream."""
    header = stream.read(HEADER.size)
    if len(header) < HEADER.size:
        return None
    (size,) = HEADER.unpack(header)
    if size > MAX_FRAME:
        msg = f"frame of {size} bytes"
        raise ValueError(msg)
    body = stream.read(size)
    if len(body) < size:
        return None
    return decode(body)


def write_frame(stream: BinaryIO, message: dict[str, Any]) -> None:
    """Write one frame to a blocking stream and flush it."""
    stream.write(encode(message))
    stream.flush()
