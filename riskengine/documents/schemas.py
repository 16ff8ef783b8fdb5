"""The contract's documents as JSON Schema (draft 2020-12), each with its ``$schema`` and ``$id``.

``riskengine schema NAME`` and the service's ``/v1/schemas/NAME`` print these. The ``$id`` is a
URN (``urn:riskengine:schema:<name>:v1``): a stable name for the document's schema that needs
no web server; references inside a schema are all local (``#/$defs/...``).
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

__all__ = ["DRAFT", "json_schema", "schema_id"]

DRAFT = "https://json-schema.org/draft/2020-12/schema"


def schema_id(name: str, version: int = 1) -> str:
    """The ``$id`` of a contract document's schema, e.g. ``urn:riskengine:schema:proposal:v1``."""
    return f"urn:riskengine:schema:{name}:v{version}"


def json_schema(model: type[BaseModel], name: str, version: int = 1) -> dict[str, Any]:
    """``model``'s JSON Schema (by the names documents use), opening with ``$schema`` and ``$id``."""
    return {"$schema": DRAFT, "$id": schema_id(name, version), **model.model_json_schema(by_alias=True)}
