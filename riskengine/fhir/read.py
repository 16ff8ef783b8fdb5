"""Gather the FHIR resources of a Bundle or a CDS Hooks prefetch, each with its FHIR path, and
check their structure against the ``fhir.resources`` R4B models.

May import ``riskengine`` public names, ``fhir.resources`` and pydantic; nothing else of the core.
"""

from __future__ import annotations

import hashlib
import threading
from collections import OrderedDict
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
import pydantic

import riskengine

__all__ = ["Problems", "Resource", "at", "gather_bundle", "gather_prefetch", "key_of", "validate"]

MAX_PROBLEMS_PER_RESOURCE = 20  # a junk resource reports this many, then one "and N more"
MAX_ENTRIES = 10_000  # a bundle bigger than this is refused, not read
# Digests of resources that passed validation, so the same record sent again (every patient-view
# of one person) is not validated again. Digests only, never content; bounded; in memory only.
VALID_CACHE_SIZE = 4096
_valid: OrderedDict[bytes, None] = OrderedDict()
_valid_lock = threading.Lock()


def at(base: str, *parts: str | int) -> str:
    """``at("Bundle.entry[3].resource", "relationship", 0, "code")`` → ``…relationship[0].code``."""
    text = base
    for part in parts:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


@dataclass
class Problems:
    """Diagnostics collected while reading, errors and warnings, each located by FHIR path."""

    source: str
    items: list[riskengine.Diagnostic] = field(default_factory=list)

    def error(self, fhir_path: str, code: str, message: str) -> None:
        """Record something that stops a proposal being built."""
        self.items.append(riskengine.Diagnostic(riskengine.Location(self.source), code, fhir_path, message))

    def warn(self, fhir_path: str, code: str, message: str) -> None:
        """Record something read around or skipped."""
        location = riskengine.Location(self.source)
        self.items.append(riskengine.Diagnostic(location, code, fhir_path, message, "warning"))

    @property
    def errors(self) -> list[riskengine.Diagnostic]:
        """Only the errors."""
        return [d for d in self.items if d.severity == "error"]

    @property
    def warnings(self) -> tuple[riskengine.Diagnostic, ...]:
        """Only the warnings, in the order found."""
        return tuple(d for d in self.items if d.severity == "warning")


@dataclass(frozen=True, slots=True)
class Resource:
    """One FHIR resource as given, with where it is (``Bundle.entry[3].resource``)."""

    path: str
    type: str
    data: Mapping[str, Any]
    full_url: str | None = None

    @property
    def id(self) -> str | None:
        """The logical id, if it has a usable one."""
        value = self.data.get("id")
        return value if isinstance(value, str) and value else None

    @property
    def key(self) -> str | None:
        """``Type/id``, how other resources refer to it."""
        return f"{self.type}/{self.id}" if self.id else None

    def at(self, *parts: str | int) -> str:
        """The FHIR path of an element of this resource."""
        return at(self.path, *parts)


def key_of(reference: str) -> str:
    """The ``Type/id`` a reference names: relative, absolute (``…/fhir/Patient/1``) or versioned."""
    text = reference.split("/_history/", maxsplit=1)[0].rstrip("/")
    parts = text.split("/")
    return "/".join(parts[-2:]) if len(parts) >= 2 else text


def gather_bundle(bundle: Any, problems: Problems, base: str = "Bundle") -> list[Resource]:
    """The resources of a Bundle, in entry order; problems with its shape are recorded."""
    if not isinstance(bundle, Mapping) or bundle.get("resourceType") != "Bundle":
        problems.error(
            base, "not-a-bundle", "expected a FHIR Bundle (a JSON object with resourceType 'Bundle')"
        )
        return []
    entries = bundle.get("entry", [])
    if not isinstance(entries, list):
        problems.error(at(base, "entry"), "invalid-value", "Bundle.entry should be a list of entries")
        return []
    if len(entries) > MAX_ENTRIES:
        problems.error(at(base, "entry"), "too-large", f"more than {MAX_ENTRIES} entries; send fewer")
        return []
    shell = {k: v for k, v in bundle.items() if k != "entry"}
    shell["entry"] = [
        {k: v for k, v in e.items() if k != "resource"} if isinstance(e, Mapping) else e for e in entries
    ]
    validate("Bundle", shell, base, problems)
    found = []
    for i, entry in enumerate(entries):
        if not isinstance(entry, Mapping):
            continue  # reported by the shell's validation
        resource = entry.get("resource")
        where = at(base, "entry", i, "resource")
        if resource is None:
            problems.warn(at(base, "entry", i), "no-resource", "entry has no resource; skipped")
        elif not isinstance(resource, Mapping) or not isinstance(resource.get("resourceType"), str):
            problems.error(where, "not-a-resource", "expected a FHIR resource with a resourceType")
        else:
            full_url = entry.get("fullUrl")
            found.append(
                Resource(
                    where, resource["resourceType"], resource, full_url if isinstance(full_url, str) else None
                )
            )
    return found


def gather_prefetch(
    prefetch: Any, expected: Sequence[str], problems: Problems, base: str = "prefetch"
) -> list[Resource]:
    """The resources of a CDS Hooks prefetch: each key holds a resource, a Bundle or null."""
    if not isinstance(prefetch, Mapping):
        problems.error(base, "not-a-mapping", "prefetch is a JSON object of prefetch keys")
        return []
    found: list[Resource] = []
    for key in expected:
        if prefetch.get(key) is None:
            problems.warn(
                at(base, str(key)), "not-prefetched", f"'{key}' was not prefetched; read as not recorded"
            )
    for key, value in prefetch.items():
        where = at(base, str(key))
        if value is None:
            continue
        if key not in expected:
            problems.warn(
                where,
                "unknown-prefetch-key",
                f"'{key}' is not one of this service's prefetch keys; read anyway",
            )
        if isinstance(value, Mapping) and value.get("resourceType") == "Bundle":
            found.extend(gather_bundle(value, problems, where))
        elif isinstance(value, Mapping) and isinstance(value.get("resourceType"), str):
            found.append(Resource(where, value["resourceType"], value))
        else:
            problems.error(where, "not-a-resource", "expected a FHIR resource or a Bundle, or null")
    return found


def validate(resource_type: str, data: Mapping[str, Any], path: str, problems: Problems) -> bool:
    """Check ``data`` against the R4B model of ``resource_type``; record located errors."""
    from fhir.resources.R4B import get_fhir_model_class

    try:
        model = get_fhir_model_class(resource_type)
    except (ValueError, KeyError, AttributeError):
        problems.error(
            at(path, "resourceType"), "unknown-resource", f"'{resource_type}' is not a FHIR R4B resource"
        )
        return False
    digest = _digest(resource_type, data)
    if digest is not None and _seen(digest):
        return True
    try:
        model.model_validate(dict(data))
    except pydantic.ValidationError as exc:
        _report(exc.errors(include_url=False), path, problems)
        return False
    except RecursionError:
        problems.error(path, "too-deep", f"this {resource_type} is nested too deeply to read")
        return False
    except (ValueError, TypeError, LookupError) as exc:
        # fhir.resources' own validators raise plain errors for some malformed input
        problems.error(path, "invalid-resource", f"not a valid {resource_type}: {type(exc).__name__}")
        return False
    if digest is not None:
        with _valid_lock:
            _valid[digest] = None
            if len(_valid) > VALID_CACHE_SIZE:
                _valid.popitem(last=False)
    return True


def _seen(digest: bytes) -> bool:
    with _valid_lock:
        if digest in _valid:
            _valid.move_to_end(digest)
            return True
    return False


def _digest(resource_type: str, data: Mapping[str, Any]) -> bytes | None:
    """A digest of a resource's canonical JSON, or None if it has no canonical JSON form."""
    try:
        text = orjson.dumps(data, option=orjson.OPT_SORT_KEYS)
    except (TypeError, orjson.JSONEncodeError):
        return None
    return hashlib.blake2b(resource_type.encode() + b"\0" + text, digest_size=16).digest()


def _report(errors: Sequence[Any], path: str, problems: Problems) -> None:
    for n, error in enumerate(errors):
        if n == MAX_PROBLEMS_PER_RESOURCE:
            problems.error(path, "invalid-resource", f"and {len(errors) - n} more problems in this resource")
            return
        loc = [part for part in error.get("loc", ()) if not _is_union_tag(part)]
        kind = error.get("type", "")
        message = (
            "unknown element (not in FHIR R4B)" if kind == "extra_forbidden" else str(error.get("msg", ""))
        )
        problems.error(at(path, *loc), "invalid-fhir", message[:300])


def _is_union_tag(part: object) -> bool:
    """pydantic puts union member names (``function-after[...]``) in error locations."""
    return isinstance(part, str) and ("[" in part or "(" in part)


def iter_dicts(value: Any) -> Iterator[tuple[int, Mapping[str, Any]]]:
    """The mapping items of a list, with their index (anything else is skipped)."""
    if isinstance(value, list):
        for i, item in enumerate(value):
            if isinstance(item, Mapping):
                yield i, item
