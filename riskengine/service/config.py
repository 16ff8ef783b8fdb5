"""The service's configuration: a YAML or JSON file, overridden by command-line flags.

Example (every key optional)::

    host: 127.0.0.1
    port: 8080
    workers: 2
    rulesets: [rulesets, /etc/our-trust/rules]
    service_url: https://riskengine.example.org   # public base URL: JWT audience, card links
    jurisdiction: england          # when a FHIR Patient's address gives no country
    timeout_seconds: 10            # per request, waiting for a worker included
    recycle_after: 100000          # evaluations before a worker is replaced
    report_ttl_seconds: 3600       # how long card links to reports keep working
    decision_log:
      path: /var/lib/riskengine/decisions.jsonl
      max_bytes: 67108864          # rotate past this size; the chain continues
      keep_input: false            # the input itself only if set, with `mask` applied
      mask: [/person/ref]
    auth:
      tokens_file: /etc/riskengine/tokens      # REST bearer tokens, one a line
      cds_clients:
        - iss: https://ehr.example.org
          jwks_url: https://ehr.example.org/.well-known/jwks.json   # or jwks_file, or keys
      algorithms: [ES384, RS384]

May import: the standard library, pydantic, pyyaml and ``riskengine`` public names.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from riskengine import Diagnostic, InputError, Location

__all__ = ["AuthConfig", "CdsClient", "DecisionLogConfig", "ServiceConfig", "is_loopback", "load_config"]

# Identifier fields masked out of a kept input by default: the proposal's pseudonymous ids and,
# for CDS Hooks, every Patient and RelatedPerson identifier, name, contact and birth date.
DEFAULT_MASK = (
    "/id",
    "/person/ref",
    "/context/patientId",
    "/context/userId",
    "/context/encounterId",
    *(
        f"/prefetch/{where}/{field}"
        for where in ("*", "*/entry/*/resource")
        for field in ("identifier", "name", "telecom", "address", "birthDate", "photo", "contact")
    ),
)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DecisionLogConfig(_Strict):
    """Where and how decisions are logged."""

    path: Path
    max_bytes: int = Field(default=64 * 1024 * 1024, ge=4096)
    keep_input: bool = False
    mask: tuple[str, ...] = DEFAULT_MASK
    keep_comments: bool = Field(
        default=True, description="keep feedback's free-text override comments (the documented choice)"
    )
    fsync: bool = True


class CdsClient(_Strict):
    """A CDS client (an EHR) allowed to call: its issuer and where its signing keys are."""

    iss: str
    jwks_url: str | None = None
    jwks_file: Path | None = None
    jwks: dict[str, Any] | None = None
    keys: tuple[Path, ...] = ()


class AuthConfig(_Strict):
    """Who may call. Without it the service is open, and only on a loopback address."""

    tokens_file: Path | None = None
    cds_clients: tuple[CdsClient, ...] = ()
    algorithms: tuple[str, ...] = ("ES384", "RS384", "ES256", "RS256", "PS384")
    max_token_age_seconds: int = Field(default=300, ge=1)
    leeway_seconds: int = Field(default=30, ge=0)

    @property
    def rest(self) -> bool:
        """Bearer tokens are required on the REST routes."""
        return self.tokens_file is not None

    @property
    def cds(self) -> bool:
        """A signed JWT is required on the CDS Hooks routes."""
        return bool(self.cds_clients)


class ServiceConfig(_Strict):
    """Everything ``riskengine serve`` needs."""

    host: str = "127.0.0.1"
    port: int = Field(default=8080, ge=0, le=65535)
    workers: int = Field(default=2, ge=1, le=64)
    rulesets: tuple[Path, ...] = ()
    backend: Literal["durable", "reference", "compiled"] = "durable"
    service_url: str | None = None
    jurisdiction: Literal["england", "wales", "scotland", "northern_ireland"] | None = None
    timeout_seconds: float = Field(default=10.0, gt=0)
    recycle_after: int = Field(default=100_000, ge=1)
    max_body_bytes: int = Field(default=1024 * 1024, ge=1024)
    max_batch_bytes: int = Field(
        default=64 * 1024 * 1024, ge=1024, description="a batch body is read ahead into memory"
    )
    max_queue: int = Field(default=512, ge=1)
    batch_in_flight: int = Field(default=4, ge=1, le=64)
    report_ttl_seconds: int = Field(default=3600, ge=0)
    report_store_max: int = Field(default=10_000, ge=0)
    decision_log: DecisionLogConfig | None = None
    auth: AuthConfig = AuthConfig()
    insecure: bool = False
    access_log: bool = True

    def base_url(self) -> str:
        """The public base URL (no trailing slash)."""
        if self.service_url:
            return self.service_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def startup_problems(self) -> list[str]:
        """Reasons not to start: an open service on a reachable address, say."""
        if is_loopback(self.host) or self.insecure:
            return []
        missing = [
            what
            for what, present in (("auth.tokens_file", self.auth.rest), ("auth.cds_clients", self.auth.cds))
            if not present
        ]
        if not missing:
            return []
        return [
            f"refusing to listen on {self.host} (not a loopback address) without {' and '.join(missing)}; "
            "configure authentication, or pass --insecure to accept an open service"
        ]


def is_loopback(host: str) -> bool:
    """True for 127.0.0.0/8, ::1 and localhost."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def load_config(path: Path | None, overrides: dict[str, Any]) -> ServiceConfig:
    """Read ``path`` (if any), apply the non-None ``overrides``, and validate."""
    data: dict[str, Any] = {}
    name = str(path) if path else "<command line>"
    if path is not None:
        try:
            loaded = yaml.safe_load(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, yaml.YAMLError) as exc:
            raise InputError([Diagnostic(Location(name), "bad-config", "", str(exc))]) from None
        if loaded is not None and not isinstance(loaded, dict):
            raise InputError([Diagnostic(Location(name), "bad-config", "", "the configuration is a mapping")])
        data = loaded or {}
    if "decision_log" in overrides and overrides["decision_log"] is not None:
        log = dict(data.get("decision_log") or {})
        log["path"] = overrides.pop("decision_log")
        data["decision_log"] = log
    data.update({k: v for k, v in overrides.items() if v is not None})
    try:
        return ServiceConfig.model_validate(data)
    except ValidationError as exc:
        raise InputError(
            [
                Diagnostic(Location(name), "bad-config", ".".join(str(p) for p in e["loc"]), e["msg"])
                for e in exc.errors()
            ]
        ) from None
