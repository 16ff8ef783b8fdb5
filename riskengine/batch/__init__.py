"""riskengine.batch: evaluate a case load in one run (issue 15).

``riskengine batch INPUT... -o OUT.ndjson`` evaluates every proposal in files, directories and
NDJSON streams on a pool of worker processes, one output line per proposal in input order
(:mod:`.records` is the line format), streaming, bounded in memory and resumable.
``riskengine synth`` writes a synthetic corpus (:mod:`.synth`).

The names other capabilities build on (``riskengine impact``, the service's batch endpoint)::

    from riskengine.batch import records, inputs, executor

    items = inputs.iter_items(["corpus.ndjson"])                 # lazily, in order
    spec = executor.RulesetSpec.of(["rulesets", "overlay"])      # directories + content hash
    task = executor.Task(my_function, (spec,))                   # my_function(engines, item)
    with executor.LocalExecutor(workers=2) as pool:
        for result in pool.map_ordered(task, items):             # in input order
            ...

Modules and what they may import: :mod:`._core` the stages (the vocabularies, located
validation); every other module ``riskengine`` public names and its siblings; :mod:`.commands`
nothing heavy at import time.
"""

from __future__ import annotations

__all__: list[str] = []
