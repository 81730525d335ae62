"""Every example on one worker, so one ``kontinue dev`` serves them all::

    kontinue dev --worker examples.workers:worker

Each example module registers its functions on a ``worker`` of its own, which serves that
example alone (``kontinue dev --worker examples.hello:worker``). All of them use the worker group
``examples``, and a worker owns its group: it publishes the group's Functions, deletes the ones
it does not register, and only one worker of a group (the Lease holder) runs executions. So run
one of them at a time: this combined worker, or a single example's.
"""

from __future__ import annotations

import kontinue
from examples import fanout, flaky, hello, pipeline
from kontinue.api import FunctionDefaults

EXAMPLES = (hello, pipeline, fanout, flaky)
"""The example modules whose functions the combined worker serves."""


def include(target: kontinue.Worker, source: kontinue.Worker) -> None:
    """Register every function of ``source`` on ``target``, with the same name and options."""
    for definition in source.functions.values():
        defaults = definition.defaults or FunctionDefaults()
        target.register(
            definition.fn,
            definition.name,
            display_name=definition.display_name,
            description=definition.description,
            hidden=definition.hidden,
            retry=defaults.retry,
            timeout=defaults.timeout,
            ttl=defaults.ttl,
            concurrency=definition.concurrency,
        )


worker = kontinue.Worker(group="examples")
for _example in EXAMPLES:
    include(worker, _example.worker)
