"""CDS Hooks 2.0 and authentication, against the real server: discovery, hook calls with synthetic
prefetch, feedback into the decision log, and every way a JWT or a bearer token is refused."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from riskengine import fhir
from tests.service_harness import ROOT, Server

FHIR = ROOT / "tests" / "fixtures" / "fhir"
BUNDLES = ["england-parkrun", "wales-cto-medication", "scotland-consent-sharing"]
ISSUER, RSA_ISSUER = "https://ehr.example.test", "https://other-ehr.example.test"
TOKEN = "rest-token-" + "x" * 24


def prefetch_of(bundle: dict[str, Any]) -> tuple[str, dict[str, Any]]:
    """A prefetch (keys of fhir.PREFETCH) filled from a Bundle, as an EHR would: the Patient,
    and a searchset Bundle per query. Returns the patient id too."""
    resources = [e["resource"] for e in bundle["entry"]]
    patient = next(r for r in resources if r["resourceType"] == "Patient")
    prefetch: dict[str, Any] = {}
    for key, template in fhir.PREFETCH.items():
        kind = template.split("?")[0].split("/")[0]
        if kind == "Patient":
            prefetch[key] = patient
        else:
            found = [r for r in resources if r["resourceType"] == kind]
            prefetch[key] = {"resourceType": "Bundle", "type": "searchset", "total": len(found),
                             "entry": [{"resource": r} for r in found]}  # fmt: skip
    return str(patient["id"]), prefetch


def load_bundle(name: str) -> dict[str, Any]:
    return dict(json.loads((FHIR / f"{name}.json").read_text(encoding="utf-8")))


class Keys:
    def __init__(self, workdir: Path) -> None:
        self.ec = ec.generate_private_key(ec.SECP384R1())
        self.rsa = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.stranger = ec.generate_private_key(ec.SECP384R1())
        jwk = json.loads(jwt.algorithms.ECAlgorithm.to_jwk(self.ec.public_key()))
        self.jwks = workdir / "jwks.json"
        self.jwks.write_text(json.dumps({"keys": [{**jwk, "kid": "ehr-1", "use": "sig", "alg": "ES384"}]}))
        self.pem = workdir / "rsa.pem"
        self.pem.write_bytes(self.rsa.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo))  # fmt: skip


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    return Keys(tmp_path_factory.mktemp("keys"))


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, keys: Keys) -> Iterator[Server]:
    workdir = tmp_path_factory.mktemp("cds")
    tokens = workdir / "tokens"
    tokens.write_text(
        f"# the integration test's token\nsha256:{hashlib.sha256(TOKEN.encode()).hexdigest()}\n"
    )
    server = Server(workdir)
    server.config.update({
        "workers": 2,
        "service_url": server.url,
        "decision_log": {"path": str(workdir / "decisions.jsonl")},
        "auth": {"tokens_file": str(tokens), "cds_clients": [
            {"iss": ISSUER, "jwks_file": str(keys.jwks)},
            {"iss": RSA_ISSUER, "keys": [str(keys.pem)]},
        ]},
    })  # fmt: skip
    server.start()
    yield server
    assert server.stop() == 0, server.stderr()


@pytest.fixture(scope="module")
def client(server: Server) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=server.url, timeout=30) as client:
        yield client


SERVICE = "riskengine-plan-review"


def token(server: Server, keys: Keys, **changes: Any) -> str:
    now = int(time.time())
    claims = {"iss": ISSUER, "aud": f"{server.url}/cds-services/{SERVICE}", "exp": now + 60, "iat": now,
              "jti": str(uuid.uuid4())}  # fmt: skip
    key: Any = changes.pop("key", keys.ec)
    algorithm = changes.pop("algorithm", "ES384")
    headers = changes.pop("headers", {"kid": "ehr-1"})
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return jwt.encode(claims, key, algorithm=algorithm, headers=headers)


def hook_call(prefetch: dict[str, Any] | None, patient: str = "pt-2041") -> dict[str, Any]:
    body: dict[str, Any] = {"hook": "patient-view", "hookInstance": str(uuid.uuid4()),
                            "context": {"userId": "Practitioner/kw", "patientId": patient}}  # fmt: skip
    if prefetch is not None:
        body["prefetch"] = prefetch
    return body


def call(
    client: httpx.Client, server: Server, keys: Keys, body: dict[str, Any], **claims: Any
) -> httpx.Response:
    return client.post(f"/cds-services/{SERVICE}", json=body,
                       headers={"authorization": f"Bearer {token(server, keys, **claims)}"})  # fmt: skip


def test_discovery_lists_the_patient_view_service_with_the_mapping_prefetch(client: httpx.Client) -> None:
    services = client.get("/cds-services").json()["services"]
    [service] = services
    assert service["hook"] == "patient-view" and service["id"] == SERVICE
    assert service["prefetch"] == fhir.PREFETCH


@pytest.mark.parametrize("name", BUNDLES)
def test_hook_call_gives_info_cards_with_no_identifiable_summary(
    client: httpx.Client, server: Server, keys: Keys, name: str
) -> None:
    bundle = load_bundle(name)
    patient, prefetch = prefetch_of(bundle)
    answer = call(client, server, keys, hook_call(prefetch, patient))
    assert answer.status_code == 200, answer.text
    cards = answer.json()["cards"]
    assert cards
    # The person's identifiers, names and words never reach a summary.
    proposal = json.loads((FHIR / f"{name}.proposal.json").read_text(encoding="utf-8"))
    secrets = _identifying(bundle, proposal)
    rulesets = client.get("/v1/rulesets", headers={"authorization": f"Bearer {TOKEN}"}).json()
    for card in cards:
        assert card["indicator"] == "info"
        assert 0 < len(card["summary"]) <= 140
        assert not [s for s in secrets if s.lower() in card["summary"].lower()], card["summary"]
        assert rulesets["set_sha256"][:12] in card["source"]["label"]
        assert card["detail"].strip()
        assert uuid.UUID(card["uuid"])
    plan = [c for c in cards if c.get("suggestions")]
    [suggestion] = plan[0]["suggestions"]
    made = {a["resource"]["resourceType"] for a in suggestion["actions"]}
    assert {"CarePlan", "Provenance"} <= made and "RiskAssessment" not in made
    assert all(a["type"] == "create" for a in suggestion["actions"])
    assert plan[0]["selectionBehavior"] == "any"


def _identifying(bundle: dict[str, Any], proposal: dict[str, Any]) -> list[str]:
    found = {"pt-2041", proposal["id"], proposal["person"]["ref"]}
    for entry in bundle["entry"]:
        resource = entry["resource"]
        if resource["resourceType"] not in ("Patient", "RelatedPerson"):
            continue
        found.add(resource.get("id", ""))
        names = resource.get("name", [])
        for name in names if isinstance(names, list) else []:
            found.update([name.get("family", ""), *name.get("given", [])])
        found.update(i.get("value", "") for i in resource.get("identifier", []))
    person = proposal["person"]
    found.update(v for v in (person.get("what_matters"), *person.get("strengths", [])) if isinstance(v, str))
    return sorted(s for s in found if isinstance(s, str) and len(s) >= 3)


def test_card_links_serve_the_practitioner_report_of_that_evaluation(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    patient, prefetch = prefetch_of(load_bundle("england-parkrun"))
    answer = call(client, server, keys, hook_call(prefetch, patient))
    evaluation_id = answer.headers["evaluation-id"]
    links = answer.json()["cards"][0]["links"]
    practitioner = next(link for link in links if "practitioner" in link["url"])
    assert practitioner["type"] == "absolute" and evaluation_id in practitioner["url"]
    report = httpx.get(practitioner["url"], timeout=30)  # a browser has no bearer token: the id is the key
    assert report.status_code == 200 and report.headers["content-type"].startswith("text/plain")
    assert report.text.startswith("riskengine evaluation of ")
    person = next(link for link in links if link["url"].endswith("/person"))
    copy = httpx.get(person["url"], timeout=30)
    assert copy.status_code == 200 and copy.text.strip() and copy.text != report.text
    gone = client.get(f"/v1/reports/{uuid.uuid4()}/practitioner")
    assert gone.status_code == 404 and gone.headers["content-type"] == "application/problem+json"


def test_absent_prefetch_answers_with_a_card_saying_what_is_missing(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    answer = call(client, server, keys, {**hook_call(None), "fhirServer": "http://127.0.0.1:9/fhir"})
    assert answer.status_code == 200
    [card] = answer.json()["cards"]
    assert card["indicator"] == "info"
    for key in fhir.PREFETCH:
        assert key in card["detail"]
    assert "fetches nothing" in card["detail"]


def test_records_about_someone_else_are_not_evaluated(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    _, prefetch = prefetch_of(load_bundle("england-parkrun"))
    answer = call(client, server, keys, hook_call(prefetch, "someone-else"))
    [card] = answer.json()["cards"]
    assert "not all about the same person" in card["summary"]
    assert "suggestions" not in card


def test_unmappable_prefetch_gives_a_card_with_fhir_paths(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    bundle = load_bundle("broken")
    patient, prefetch = prefetch_of(bundle)
    mixed = call(client, server, keys, hook_call(prefetch, patient))  # it has a Condition about someone else
    assert "not all about the same person" in mixed.json()["cards"][0]["summary"]
    bundle["entry"] = [e for e in bundle["entry"] if "someone-else" not in json.dumps(e)]
    patient, prefetch = prefetch_of(bundle)
    answer = call(client, server, keys, hook_call(prefetch, patient))
    assert answer.status_code == 200
    [card] = answer.json()["cards"]
    assert "could not review" in card["summary"] and ".resource." in card["detail"]


def test_hook_errors_are_problems(client: httpx.Client, server: Server, keys: Keys) -> None:
    auth = {"authorization": f"Bearer {token(server, keys)}"}
    bad = client.post(
        f"/cds-services/{SERVICE}", content=b"{", headers={**auth, "content-type": "application/json"}
    )
    assert bad.status_code == 400 and bad.headers["content-type"] == "application/problem+json"
    auth = {"authorization": f"Bearer {token(server, keys)}"}
    invalid = client.post(f"/cds-services/{SERVICE}", json={"hook": "patient-view"}, headers=auth)
    assert invalid.status_code == 422
    assert {d["pointer"] for d in invalid.json()["diagnostics"]} >= {"/hookInstance", "/context"}
    auth = {"authorization": f"Bearer {token(server, keys)}"}
    wrong = client.post(
        f"/cds-services/{SERVICE}", json={**hook_call(None), "hook": "order-sign"}, headers=auth
    )
    assert wrong.status_code == 422 and wrong.json()["diagnostics"][0]["pointer"] == "/hook"
    assert client.post("/cds-services/no-such-service", json=hook_call(None)).status_code == 404


def test_feedback_goes_into_the_decision_log_with_reasons_and_comments(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    patient, prefetch = prefetch_of(load_bundle("england-parkrun"))
    body = hook_call(prefetch, patient)
    answer = call(client, server, keys, body)
    cards = answer.json()["cards"]
    plan = next(c for c in cards if c.get("suggestions"))
    other = next(c for c in cards if c is not plan)
    feedback = {"feedback": [
        {"card": plan["uuid"], "outcome": "accepted", "acceptedSuggestions": [{"id": plan["suggestions"][0]["uuid"]}],
         "outcomeTimestamp": "2026-12-03T09:00:00Z"},
        {"card": other["uuid"], "outcome": "overridden", "outcomeTimestamp": "2026-12-03T09:01:00Z",
         "overrideReason": {"reason": other["overrideReasons"][1], "userComment": "He chose to go alone first"}},
    ]}  # fmt: skip
    sent = client.post(f"/cds-services/{SERVICE}/feedback", json=feedback,
                       headers={"authorization": f"Bearer {token(server, keys)}"})  # fmt: skip
    assert sent.status_code == 200, sent.text
    log = server.workdir / "decisions.jsonl"
    entries = [json.loads(line) for line in log.read_text(encoding="utf-8").splitlines()]
    [evaluated] = [e for e in entries if e.get("hook_instance") == body["hookInstance"]]
    assert (
        evaluated["evaluation_id"] == answer.headers["evaluation-id"] and evaluated["result"] == "evaluated"
    )
    assert {c["uuid"] for c in evaluated["cards"]} == {c["uuid"] for c in cards}
    recorded = entries[-1]
    assert recorded["kind"] == "feedback" and recorded["evaluation_id"] == evaluated["evaluation_id"]
    accepted, overridden = recorded["outcomes"]
    assert accepted["outcome"] == "accepted" and accepted["accepted_suggestions"] == [
        plan["suggestions"][0]["uuid"]
    ]
    assert overridden["override_reason"]["code"] == "person-chose-otherwise"
    assert overridden["comment"] == "He chose to go alone first"
    # The hook's input is hashed, not kept (keep_input is off), and the chain verifies.
    assert "Synthetic" not in log.read_text(encoding="utf-8")
    verify = subprocess.run([sys.executable, "-m", "riskengine.cli", "log", "verify", str(log)], cwd=ROOT,
                            capture_output=True, text=True, check=False)  # fmt: skip
    assert verify.returncode == 0, verify.stderr


def test_feedback_that_is_not_a_feedback_document_is_422(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    sent = client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": [{"card": "x", "outcome": "maybe"}]},
                       headers={"authorization": f"Bearer {token(server, keys)}"})  # fmt: skip
    assert sent.status_code == 422


# -- authentication ---------------------------------------------------------------------------
def test_a_jwt_signed_with_a_configured_pem_key_is_accepted(
    client: httpx.Client, server: Server, keys: Keys
) -> None:
    answer = call(
        client, server, keys, hook_call(None), iss=RSA_ISSUER, key=keys.rsa, algorithm="RS384", headers={}
    )
    assert answer.status_code == 200, answer.text


REFUSALS = {
    "no-header": (None, "missing-credentials"),
    "not-bearer": ("Basic dXNlcjpwYXNz", "bad-credentials"),
    "not-a-jwt": ("Bearer not.a.jwt", "bad-jwt"),
}


@pytest.mark.parametrize("case", sorted(REFUSALS))
def test_malformed_credentials_are_refused(client: httpx.Client, case: str) -> None:
    header, code = REFUSALS[case]
    headers = {"authorization": header} if header else {}
    answer = client.post(f"/cds-services/{SERVICE}", json=hook_call(None), headers=headers)
    assert answer.status_code == 401 and answer.json()["type"].endswith(code)
    assert answer.headers["www-authenticate"].startswith("Bearer")


# Times are seconds from now, resolved when each test runs (not at import: a long run would
# otherwise turn "too old" into "expired").
JWT_REFUSALS: dict[str, tuple[dict[str, Any], str]] = {
    "unknown issuer": ({"iss": "https://stranger.example.test"}, "unknown-issuer"),
    "signed by another key": ({"key": "stranger"}, "jwt-signature"),
    "symmetric algorithm": (
        {"algorithm": "HS256", "key": "secret-secret-secret-secret-secret!"},
        "bad-jwt-algorithm",
    ),
    "wrong audience": ({"aud": "https://elsewhere.example.test/cds-services/x"}, "jwt-audience"),
    "expired": ({"exp": -3600, "iat": -3700}, "jwt-expired"),
    "issued in the future": ({"iat": 3600, "exp": 3700}, "jwt-not-yet-valid"),
    "too old": ({"iat": -3000, "exp": 60}, "jwt-too-old"),
    "no jti": ({"jti": None}, "jwt-claim-missing"),
    "no exp": ({"exp": None}, "jwt-claim-missing"),
    "unknown kid": ({"headers": {"kid": "nope"}}, "unknown-key"),
}


@pytest.mark.parametrize("case", sorted(JWT_REFUSALS))
def test_each_bad_jwt_is_refused(client: httpx.Client, server: Server, keys: Keys, case: str) -> None:
    changes, code = JWT_REFUSALS[case]
    changes = dict(changes)
    now = int(time.time())
    for claim in ("exp", "iat"):
        if isinstance(changes.get(claim), int):
            changes[claim] = now + changes[claim]
    if changes.get("key") == "stranger":
        changes["key"] = keys.stranger
    answer = call(client, server, keys, hook_call(None), **changes)
    assert answer.status_code == 401, answer.text
    assert answer.json()["type"] == f"urn:riskengine:problem:{code}"


def test_a_replayed_jti_is_refused(client: httpx.Client, server: Server, keys: Keys) -> None:
    headers = {"authorization": f"Bearer {token(server, keys)}"}
    first = client.post(f"/cds-services/{SERVICE}", json=hook_call(None), headers=headers)
    again = client.post(f"/cds-services/{SERVICE}", json=hook_call(None), headers=headers)
    assert first.status_code == 200
    assert again.status_code == 401 and again.json()["type"].endswith("jwt-replayed")


def test_feedback_needs_a_jwt_too(client: httpx.Client) -> None:
    answer = client.post(f"/cds-services/{SERVICE}/feedback", json={"feedback": []})
    assert answer.status_code == 401


@pytest.mark.parametrize("route", ["/v1/rulesets", "/v1/schemas/proposal"])
def test_rest_routes_need_a_configured_bearer_token(client: httpx.Client, route: str) -> None:
    assert client.get(route).status_code == 401
    assert client.get(route, headers={"authorization": "Bearer wrong"}).status_code == 401
    assert client.get(route, headers={"authorization": f"Bearer {TOKEN}"}).status_code == 200
    evaluate = client.post("/v1/evaluations", content=b"{}", headers={"content-type": "application/json"})
    assert evaluate.status_code == 401


def test_health_and_discovery_need_no_credentials(client: httpx.Client) -> None:
    assert client.get("/healthz").status_code == 200
    assert client.get("/readyz").status_code == 200
    assert client.get("/cds-services").status_code == 200


def test_refuses_to_listen_beyond_loopback_without_auth(tmp_path: Path) -> None:
    run = subprocess.run([sys.executable, "-m", "riskengine.cli", "serve", "--host", "0.0.0.0", "--port", "1"],
                         cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert run.returncode == 2
    assert "not a loopback address" in run.stderr and "--insecure" in run.stderr


def test_jwks_fetched_from_a_url_and_kept_input_is_masked(tmp_path: Path, keys: Keys) -> None:
    """A client's keys can come from its JWKS URL (here a loopback server); with keep_input the
    decision log holds the hook request with identifiers masked."""
    import http.server
    import threading

    jwks = keys.jwks.read_bytes()

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            self.send_response(200)
            self.send_header("content-type", "application/json")
            self.end_headers()
            self.wfile.write(jwks)

        def log_message(self, *args: Any) -> None:
            pass

    keyserver = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=keyserver.serve_forever, daemon=True)
    thread.start()
    try:
        server = Server(tmp_path)
        jwks_url = f"http://127.0.0.1:{keyserver.server_address[1]}/jwks.json"
        server.config.update({"service_url": server.url, "auth": {"cds_clients": [{"iss": ISSUER, "jwks_url": jwks_url}]},
                              "decision_log": {"path": str(tmp_path / "d.jsonl"), "keep_input": True}})  # fmt: skip
        server.start()
        try:
            patient, prefetch = prefetch_of(load_bundle("england-parkrun"))
            with httpx.Client(base_url=server.url, timeout=30) as client:
                answer = call(client, server, keys, hook_call(prefetch, patient))
            assert answer.status_code == 200, answer.text
        finally:
            assert server.stop() == 0
    finally:
        keyserver.shutdown()
        keyserver.server_close()
    entries = [json.loads(line) for line in (tmp_path / "d.jsonl").read_text(encoding="utf-8").splitlines()]
    kept = entries[-1]["input"]
    assert kept["context"]["patientId"] == "[masked]"
    assert kept["prefetch"]["patient"]["name"] == "[masked]"
    assert kept["prefetch"]["patient"]["identifier"] == "[masked]"
    assert kept["prefetch"]["carePlans"]["entry"][0]["resource"]["resourceType"] == "CarePlan"
    assert "9990000000" not in (tmp_path / "d.jsonl").read_text(encoding="utf-8")
