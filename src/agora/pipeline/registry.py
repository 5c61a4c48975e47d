"""Step discovery and ordering.

Steps come from the ``agora.steps`` entry-point group plus
``settings.pipeline.extra_steps`` (``module:Class`` import paths), minus
``disabled_steps``; they run in a topological order of their ``requires`` and
of the enabled steps named in their ``after``.
"""

from __future__ import annotations

import importlib
from graphlib import CycleError, TopologicalSorter
from importlib.metadata import entry_points

from agora.config import PipelineSettings
from agora.errors import InvalidInput
from agora.pipeline.base import Step, StepServices

ENTRY_POINT_GROUP = "agora.steps"


def _load_class(path: str) -> type[Step]:
    module, _, name = path.partition(":")
    if not module or not name:
        raise InvalidInput(f"step {path!r} must be written module:Class")
    cls = getattr(importlib.import_module(module), name)
    if not (isinstance(cls, type) and issubclass(cls, Step)):
        raise InvalidInput(f"{path!r} is not a pipeline Step")
    return cls


def discover_steps(settings: PipelineSettings, services: StepServices) -> list[Step]:
    """Build every enabled step with its dependencies, ordered so each runs after
    what it requires."""
    classes: dict[str, type[Step]] = {}
    for ep in entry_points(group=ENTRY_POINT_GROUP):
        cls = ep.load()
        classes[cls.name] = cls
    for path in settings.extra_steps:
        cls = _load_class(path)
        classes[cls.name] = cls
    for name in settings.disabled_steps:
        classes.pop(name, None)
    return order_steps([cls.from_services(services) for cls in classes.values()])


def order_steps(steps: list[Step]) -> list[Step]:
    """Topological order; a missing requirement or a cycle is a configuration error."""
    by_name = {s.name: s for s in steps}
    graph: dict[str, set[str]] = {}
    for step in steps:
        missing = [r for r in step.requires if r not in by_name]
        if missing:
            raise InvalidInput(f"step {step.name!r} requires missing steps {missing}")
        # ``after`` orders without requiring: only the named steps that are enabled.
        graph[step.name] = set(step.requires) | {a for a in step.after if a in by_name}
    sorter = TopologicalSorter(graph)
    try:
        sorter.prepare()
    except CycleError as exc:
        raise InvalidInput(f"pipeline steps form a cycle: {exc.args[1]}") from None
    order: list[str] = []
    while sorter.is_active():
        # Among the steps ready to run, those that may hold go first: once they
        # have all answered, the asset's status is known and it turns active
        # (searchable) while the slower steps finish.
        ready = sorted(sorter.get_ready(), key=lambda n: (not by_name[n].can_hold, n))
        order += ready
        sorter.done(*ready)
    return [by_name[name] for name in order]
