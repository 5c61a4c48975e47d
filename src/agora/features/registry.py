"""Feature registry: the views the platform knows, looked up by entity and feature name.

Example:
    >>> from agora.features.definitions import standard_registry
    >>> reg = standard_registry()
    >>> reg.feature("asset", "ctr_last_hour").dtype.value
    'float'
    >>> reg.view_of("user", "session_clicks_last_5m").name
    'user_realtime'
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import timedelta
from typing import Any

from agora.errors import InvalidInput, NotFound
from agora.features.base import Entity, Feature, FeatureView


class FeatureRegistry:
    """Entities and feature views by name; feature names are unique per entity."""

    def __init__(self, views: Iterable[FeatureView] = ()) -> None:
        self.entities: dict[str, Entity] = {}
        self.views: dict[str, FeatureView] = {}
        self._features: dict[tuple[str, str], tuple[FeatureView, Feature]] = {}
        for view in views:
            self.register(view)

    def register(self, view: FeatureView) -> FeatureView:
        """Add ``view``; a clash of view or feature names is an error, not an overwrite."""
        if view.name in self.views:
            raise InvalidInput(f"feature view {view.name!r} is already registered")
        known = self.entities.setdefault(view.entity.name, view.entity)
        if known != view.entity:
            raise InvalidInput(f"entity {view.entity.name!r} is registered differently")
        for f in view.features:
            key = (view.entity.name, f.name)
            if key in self._features:
                other = self._features[key][0].name
                raise InvalidInput(f"feature {f.name!r} of {view.name!r} is also in {other!r}")
        for f in view.features:
            self._features[(view.entity.name, f.name)] = (view, f)
        self.views[view.name] = view
        return view

    def entity(self, name: str) -> Entity:
        try:
            return self.entities[name]
        except KeyError:
            raise NotFound(f"unknown entity {name!r}; known: {sorted(self.entities)}") from None

    def feature(self, entity: str, name: str) -> Feature:
        return self._lookup(entity, name)[1]

    def view_of(self, entity: str, feature: str) -> FeatureView:
        return self._lookup(entity, feature)[0]

    def _lookup(self, entity: str, name: str) -> tuple[FeatureView, Feature]:
        self.entity(entity)
        try:
            return self._features[(entity, name)]
        except KeyError:
            raise NotFound(f"entity {entity!r} has no feature {name!r}") from None

    def features_of(self, entity: str, *, online_only: bool = True) -> list[str]:
        """Every feature name of ``entity`` in registration order (request-time
        features are left out when ``online_only``: they are not stored)."""
        self.entity(entity)
        return [
            f.name
            for (e, _), (v, f) in self._features.items()
            if e == entity and (v.source != "request" or not online_only)
        ]

    def resolve(self, entity: str, features: Sequence[str]) -> list[tuple[Feature, float | None]]:
        """(feature, ttl seconds) for each name, in order; unknown names are NotFound."""
        out = []
        for name in features:
            view, feat = self._lookup(entity, name)
            if view.source == "request":
                raise InvalidInput(f"{entity}.{name} is computed per request, not stored")
            out.append((feat, view.ttl.total_seconds() if view.ttl is not None else None))
        return out

    def describe(self) -> list[dict[str, Any]]:
        """JSON-friendly listing of every view (for the API and the CLI)."""
        return [
            {
                "name": v.name,
                "entity": v.entity.name,
                "join_key": v.entity.join_key,
                "source": v.source,
                "ttl_s": v.ttl / timedelta(seconds=1) if v.ttl is not None else None,
                "owner": v.owner,
                "description": v.description,
                "features": [
                    {
                        "name": f.name,
                        "dtype": f.dtype.value,
                        "default": f.default,
                        "description": f.description,
                    }
                    for f in v.features
                ],
            }
            for v in self.views.values()
        ]
