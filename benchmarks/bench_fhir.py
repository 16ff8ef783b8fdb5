"""FHIR mapping benchmarks: how much of a CDS hook call's budget (p99 <= 50 ms, issue 14) the
mapping takes, in process, on the England parkrun prefetch.

    python benchmarks/bench_fhir.py            # 2,000 runs each (about a minute)
    python benchmarks/bench_fhir.py --quick    # 200 runs each

Measures, each with its median, p99 and range: ``map_prefetch`` on the same prefetch again
and again (the resources that passed R4B validation are remembered by digest), the same on
copies whose every resource differs (``_cold``: every resource validated), ``resources_for``, ``bundle_for``, and the whole path a hook call takes
(map, evaluate with the shipped rulesets, resources). Results are printed and written to
benchmarks/results/fhir.json.
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from riskengine import Engine, fhir  # noqa: E402

BUNDLE = ROOT / "tests" / "fixtures" / "fhir" / "england-parkrun.json"


def _prefetch(bundle: dict[str, Any]) -> dict[str, Any]:
    """The bundle's resources as a CDS Hooks prefetch (Patient alone, the rest as searchsets)."""
    keys = {"Patient": "patient", "RelatedPerson": "relatedPersons", "CareTeam": "careTeams",
            "Consent": "consents", "CarePlan": "carePlans", "Goal": "goals", "Condition": "conditions",
            "MedicationStatement": "medications", "Flag": "flags"}  # fmt: skip
    prefetch: dict[str, Any] = {
        k: {"resourceType": "Bundle", "type": "searchset", "entry": []} for k in fhir.PREFETCH
    }
    for entry in bundle["entry"]:
        key = keys.get(entry["resource"]["resourceType"])
        if key == "patient":
            prefetch[key] = entry["resource"]
        elif key:
            prefetch[key]["entry"].append(entry)
    return prefetch


def _varied(prefetch: dict[str, Any], n: int) -> dict[str, Any]:
    """A copy whose every resource differs from the last run's, so no validation is remembered."""
    copy_ = copy.deepcopy(prefetch)
    resources = [copy_["patient"]] + [
        e["resource"] for k, v in copy_.items() if k != "patient" for e in v["entry"]
    ]
    for resource in resources:
        resource["meta"] = {"versionId": str(n)}
    return copy_


def _time(call: Callable[[], Any], runs: int) -> dict[str, float]:
    for _ in range(min(50, runs)):
        call()  # warm: imports, model classes, the engine's first run
    samples = []
    for _ in range(runs):
        start = time.perf_counter()
        call()
        samples.append(time.perf_counter() - start)
    ordered = sorted(samples)
    return {
        "median_ms": round(statistics.median(ordered) * 1e3, 3),
        "p99_ms": round(ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1e3, 3),
        "min_ms": round(ordered[0] * 1e3, 3),
        "max_ms": round(ordered[-1] * 1e3, 3),
        "runs": len(ordered),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true")
    runs = 200 if parser.parse_args().quick else 2000
    bundle = json.loads(BUNDLE.read_text(encoding="utf-8"))
    prefetch = _prefetch(bundle)
    engine = Engine.from_paths()
    mapping = fhir.map_prefetch(copy.deepcopy(prefetch))
    evaluation = engine.evaluate(mapping.proposal)

    def hook() -> None:
        m = fhir.map_prefetch(prefetch)
        e = engine.evaluate(m.proposal)
        fhir.resources_for(e, m.proposal, references=m.references, subject=m.subject)

    copies = iter([_varied(prefetch, i) for i in range(runs + 50)])
    results = {
        "map_prefetch": _time(lambda: fhir.map_prefetch(prefetch), runs),
        "map_prefetch_cold": _time(lambda: fhir.map_prefetch(next(copies)), runs),
        "resources_for": _time(
            lambda: fhir.resources_for(evaluation, mapping.proposal, references=mapping.references), runs
        ),
        "bundle_for": _time(lambda: fhir.bundle_for(mapping.proposal), runs),
        "hook_path": _time(hook, runs),
    }
    for name, figures in results.items():
        print(f"{name:14} median {figures['median_ms']:7.3f} ms  p99 {figures['p99_ms']:7.3f} ms  "
              f"range {figures['min_ms']:.3f}-{figures['max_ms']:.3f} ms  ({figures['runs']} runs)")  # fmt: skip
    out = ROOT / "benchmarks" / "results"
    out.mkdir(parents=True, exist_ok=True)
    (out / "fhir.json").write_text(json.dumps(results, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
