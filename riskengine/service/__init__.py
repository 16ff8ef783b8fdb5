"""The HTTP service (issue 14): REST under ``/v1``, CDS Hooks 2.0, and a decision log.

``riskengine serve`` runs one asyncio process (uvicorn) in front of a pool of worker
processes, each with its own :class:`riskengine.Engine` loaded once (durable-rules is not
thread-safe and can crash a process, so evaluations never run in the server process).

Modules and what they may import:

* :mod:`.protocol`, :mod:`.decisionlog`: the standard library and orjson only (so
  ``riskengine log verify`` runs without the ``service`` extra).
* :mod:`.worker`, :mod:`.cards`, :mod:`._batch`: ``riskengine`` public names and the doors of
  :mod:`riskengine.fhir` and :mod:`riskengine.batch`. Nothing in the service reaches past a door.
* :mod:`.config`, :mod:`.auth`, :mod:`.models`, :mod:`.problems`, :mod:`.pool`,
  :mod:`.app`: the ``service`` extra (FastAPI, uvicorn, PyJWT), pydantic, and the modules above.
* :mod:`.commands`: nothing heavy at import time (the handlers import lazily).
"""
