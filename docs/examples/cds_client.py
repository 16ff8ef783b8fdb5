"""A minimal CDS Hooks client for trying ``riskengine serve`` (docs/integration.md, step by step).

    python docs/examples/cds_client.py keygen KEYDIR             # a P-384 key pair and its JWKS
    python docs/examples/cds_client.py call URL BUNDLE --key KEYDIR/private.pem --issuer ISS
                                         [--feedback accept|override]

``call`` turns a FHIR Bundle (e.g. tests/fixtures/fhir/england-parkrun.json) into the prefetch a
CDS client would send for the patient-view hook, signs a JWT as CDS Hooks 2.0 asks (ES384,
``iss``, ``aud`` = the service endpoint, ``exp``, ``iat``, ``jti``), calls the service, prints
each card, and, with ``--feedback``, sends feedback on the cards. It prints the evaluation id;
the decision log can then be checked with ``riskengine log verify PATH``.

Needs httpx and PyJWT with cryptography (the ``test`` and ``service`` extras).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import time
import uuid
from pathlib import Path
from typing import Any

import httpx
import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

SERVICE = "riskengine-plan-review"


def keygen(directory: Path) -> None:
    """Write private.pem and jwks.json (the public key, kid "demo-1") into ``directory``."""
    directory.mkdir(parents=True, exist_ok=True)
    key = ec.generate_private_key(ec.SECP384R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    (directory / "private.pem").write_bytes(pem)
    public = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(key.public_key()))
    jwks = {"keys": [{**public, "kid": "demo-1", "use": "sig", "alg": "ES384"}]}
    (directory / "jwks.json").write_text(json.dumps(jwks, indent=2) + "\n")
    print(f"wrote {directory / 'private.pem'} and {directory / 'jwks.json'}")


def prefetch_from_bundle(bundle: dict[str, Any], templates: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """The patient id and a prefetch: the Patient, and one searchset Bundle per query template."""
    resources = [entry["resource"] for entry in bundle.get("entry", [])]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch: dict[str, Any] = {}
    for key, template in templates.items():
        kind = template.split("?")[0].split("/")[0]
        if kind == "Patient":
            prefetch[key] = patient
            continue
        found = [r for r in resources if r["resourceType"] == kind]
        prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                         "entry": [{"resource": r} for r in found]}  # fmt: skip
    return str(patient["id"]), prefetch


def signed(key: str, issuer: str, audience: str) -> str:
    """A fresh CDS Hooks client JWT (valid for one minute, used once)."""
    now = int(time.time())
    claims = {"iss": issuer, "aud": audience, "exp": now + 60, "iat": now, "jti": str(uuid.uuid4())}
    return jwt.encode(claims, key, algorithm="ES384", headers={"kid": "demo-1"})


def call(url: str, bundle_path: Path, key_path: Path, issuer: str, feedback: str | None) -> int:
    """Discover, call the hook, print the cards, optionally send feedback."""
    base = url.rstrip("/")
    key = key_path.read_text(encoding="utf-8")
    endpoint = f"{base}/cds-services/{SERVICE}"
    with httpx.Client(timeout=30) as client:
        services = client.get(f"{base}/cds-services").json()["services"]
        service = next(s for s in services if s["id"] == SERVICE)
        patient, prefetch = prefetch_from_bundle(json.loads(bundle_path.read_text(encoding="utf-8")),
                                                 service["prefetch"])  # fmt: skip
        request = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                   "context": {"userId": "Practitioner/demo", "patientId": patient}, "prefetch": prefetch}  # fmt: skip
        answer = client.post(
            endpoint, json=request, headers={"authorization": f"Bearer {signed(key, issuer, endpoint)}"}
        )
        if answer.status_code != 200:
            print(f"{answer.status_code}: {answer.text}", file=sys.stderr)
            return 1
        cards = answer.json()["cards"]
        print(f"evaluation {answer.headers.get('evaluation-id')}: {len(cards)} cards")
        for card in cards:
            print(f"- [{card['indicator']}] {card['summary']}")
            for link in card.get("links", [])[:1]:
                print(f"    {link['label']}: {link['url']}")
        if feedback:
            now = dt.datetime.now(dt.timezone.utc).isoformat()
            items = [
                {"card": c["uuid"], "outcome": "accepted", "outcomeTimestamp": now}
                if feedback == "accept"
                else {"card": c["uuid"], "outcome": "overridden", "outcomeTimestamp": now,
                      "overrideReason": {"reason": c["overrideReasons"][0], "userComment": "talked it through"}}
                for c in cards
            ]  # fmt: skip
            sent = client.post(f"{endpoint}/feedback", json={"feedback": items},
                               headers={"authorization": f"Bearer {signed(key, issuer, endpoint)}"})  # fmt: skip
            print(f"feedback: {sent.status_code} {sent.text}")
            if sent.status_code != 200:
                return 1
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    gen = sub.add_parser("keygen")
    gen.add_argument("directory", type=Path)
    hook = sub.add_parser("call")
    hook.add_argument("url")
    hook.add_argument("bundle", type=Path)
    hook.add_argument("--key", type=Path, required=True)
    hook.add_argument("--issuer", required=True)
    hook.add_argument("--feedback", choices=("accept", "override"))
    args = parser.parse_args()
    if args.command == "keygen":
        keygen(args.directory)
        return 0
    return call(args.url, args.bundle, args.key, args.issuer, args.feedback)


if __name__ == "__main__":
    sys.exit(main())
