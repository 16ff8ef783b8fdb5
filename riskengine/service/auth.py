"""Who may call: REST bearer tokens from a file, and CDS Hooks client JWTs.

CDS Hooks 2.0 has the client sign a short-lived JWT per call. It is accepted only when its
signature checks against a key configured for its issuer (``iss`` on the allow-list), its
``aud`` is the URL of the endpoint called, ``exp`` has not passed, ``iat`` is neither in the
future nor older than the allowed age, and its ``jti`` has not been seen before (replays are
refused while the token would still be valid).

May import: the standard library, PyJWT, and the service's config and problem modules.
"""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import json
import time
from collections import OrderedDict
from pathlib import Path
from typing import Any

import jwt

from .config import AuthConfig, CdsClient
from .problems import ProblemError

__all__ = ["BearerTokens", "CdsVerifier", "load_tokens"]

_MAX_JTIS = 200_000


def _unauthorised(code: str, detail: str, *, scheme: str = "Bearer") -> ProblemError:
    return ProblemError(401, code, "Not authenticated", detail, headers={"WWW-Authenticate": scheme})


def _bearer(header: str | None) -> str:
    if not header:
        raise _unauthorised("missing-credentials", "send Authorization: Bearer <token>")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise _unauthorised("bad-credentials", "the Authorization header is not 'Bearer <token>'")
    return token.strip()


def load_tokens(path: Path) -> frozenset[str]:
    """The SHA-256 (hex) of each token in ``path``: one a line, plain or as ``sha256:<hex>``.

    Blank lines and lines starting with ``#`` are skipped, so the file can say whose each is.
    """
    digests = set()
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.strip()
        if not line or line.startswith("#"):
            continue
        if line.startswith("sha256:"):
            digests.add(line.removeprefix("sha256:").lower())
        else:
            digests.add(hashlib.sha256(line.encode()).hexdigest())
    return frozenset(digests)


class BearerTokens:
    """The REST routes' check: the bearer token's hash is one of the configured ones."""

    def __init__(self, digests: frozenset[str]) -> None:
        self.digests = digests

    def check(self, header: str | None) -> None:
        """Raise a 401 problem unless ``header`` carries a configured token."""
        digest = hashlib.sha256(_bearer(header).encode()).hexdigest()
        if not any(hmac.compare_digest(digest, known) for known in self.digests):
            raise _unauthorised("bad-token", "the bearer token is not one this service accepts")


class CdsVerifier:
    """Checks CDS Hooks client JWTs against the configured issuers and keys."""

    def __init__(self, auth: AuthConfig) -> None:
        self.auth = auth
        self.clients = {client.iss: client for client in auth.cds_clients}
        self._static = {client.iss: _static_keys(client) for client in auth.cds_clients}
        self._remote = {
            client.iss: jwt.PyJWKClient(client.jwks_url, cache_keys=True, lifespan=300, timeout=5)
            for client in auth.cds_clients
            if client.jwks_url
        }
        self._seen: OrderedDict[str, float] = OrderedDict()

    async def verify(self, header: str | None, audience: str) -> dict[str, Any]:
        """The token's claims, or a 401 problem saying which check failed."""
        token = _bearer(header)
        try:
            head = jwt.get_unverified_header(token)
            unverified = jwt.decode(token, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise _unauthorised("bad-jwt", "the bearer token is not a JWT") from None
        algorithm = head.get("alg")
        if algorithm not in self.auth.algorithms:
            raise _unauthorised("bad-jwt-algorithm", f"JWT algorithm {algorithm!r} is not accepted")
        issuer = unverified.get("iss")
        if not isinstance(issuer, str) or issuer not in self.clients:
            raise _unauthorised("unknown-issuer", "the JWT's issuer is not on this service's allow-list")
        keys = await self._keys(issuer, head.get("kid"))
        claims = self._decode(token, keys, str(algorithm), issuer, audience)
        self._fresh(claims)
        return claims

    async def _keys(self, issuer: str, kid: Any) -> list[Any]:
        static = self._static[issuer]
        keys = [key for key_id, key in static if kid is None or key_id in (None, kid)]
        remote = self._remote.get(issuer)
        if remote is not None:
            try:
                if kid is not None:
                    found = await asyncio.to_thread(remote.get_signing_key, str(kid))
                    keys.append(found.key)
                else:
                    keys += [k.key for k in await asyncio.to_thread(remote.get_signing_keys)]
            except jwt.PyJWKClientError:
                pass  # no such key there (or the key set cannot be fetched): the token fails below
        if not keys:
            raise _unauthorised("unknown-key", "no configured key of the JWT's issuer matches its kid")
        return keys

    def _decode(
        self, token: str, keys: list[Any], algorithm: str, issuer: str, audience: str
    ) -> dict[str, Any]:
        for key in keys:
            try:
                claims: dict[str, Any] = jwt.decode(
                    token,
                    key,
                    algorithms=[algorithm],
                    audience=audience,
                    issuer=issuer,
                    leeway=self.auth.leeway_seconds,
                    options={"require": ["iss", "aud", "exp", "iat", "jti"]},
                )
                return claims
            except (jwt.InvalidSignatureError, jwt.InvalidKeyError):
                continue  # another of the issuer's keys (or key types) may have signed it
            except jwt.ExpiredSignatureError:
                raise _unauthorised("jwt-expired", "the JWT has expired (exp)") from None
            except jwt.InvalidAudienceError:
                raise _unauthorised("jwt-audience", f"the JWT's aud is not {audience}") from None
            except jwt.MissingRequiredClaimError as exc:
                raise _unauthorised("jwt-claim-missing", f"the JWT has no {exc.claim!r} claim") from None
            except jwt.ImmatureSignatureError:
                raise _unauthorised("jwt-not-yet-valid", "the JWT's iat or nbf is in the future") from None
            except jwt.PyJWTError as exc:
                raise _unauthorised("bad-jwt", f"the JWT is not valid: {exc}") from None
        raise _unauthorised("jwt-signature", "the JWT's signature does not check against the issuer's keys")

    def _fresh(self, claims: dict[str, Any]) -> None:
        now = time.time()
        iat, exp, jti = claims.get("iat"), claims.get("exp"), claims.get("jti")
        if not isinstance(iat, int | float) or iat > now + self.auth.leeway_seconds:
            raise _unauthorised("jwt-not-yet-valid", "the JWT's iat is in the future")
        if now - iat > self.auth.max_token_age_seconds + self.auth.leeway_seconds:
            raise _unauthorised(
                "jwt-too-old", f"the JWT was issued over {self.auth.max_token_age_seconds} s ago"
            )
        if not isinstance(jti, str) or not jti:
            raise _unauthorised("jwt-claim-missing", "the JWT has no usable 'jti' claim")
        while self._seen and (next(iter(self._seen.values())) < now or len(self._seen) > _MAX_JTIS):
            self._seen.popitem(last=False)
        key = f"{claims.get('iss')}\n{jti}"
        if key in self._seen:
            raise _unauthorised("jwt-replayed", "this JWT (its jti) has been used before")
        self._seen[key] = float(exp if isinstance(exp, int | float) else now) + self.auth.leeway_seconds


def _static_keys(client: CdsClient) -> list[tuple[str | None, Any]]:
    """(kid, key) for the keys configured in the file itself: a JWKS inline or in a file, or PEMs."""
    found: list[tuple[str | None, Any]] = []
    sets = [client.jwks] if client.jwks else []
    if client.jwks_file:
        sets.append(json.loads(client.jwks_file.read_text(encoding="utf-8")))
    for jwks in sets:
        for jwk in jwt.PyJWKSet.from_dict(jwks).keys:
            found.append((jwk.key_id, jwk.key))
    for path in client.keys:
        found.append((None, path.read_text(encoding="utf-8")))
    return found
