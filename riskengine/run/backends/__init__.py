"""Rule backends. Each runs a :class:`~riskengine.rules.ir.Program` over a fact set.

``reference`` is the pure-Python oracle; ``durable`` wraps durable-rules 2.0.28 and
is the only module that imports it; ``compiled`` turns each program into one Python
function, for throughput (the same firings, checked against both).
"""

from __future__ import annotations

from riskengine.run.backends.base import Backend, get_backend

__all__ = ["Backend", "get_backend"]
