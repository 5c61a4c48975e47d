"""Versioned state of the model objects the model store pickles.

A model class mixes in :class:`VersionedState`: its pickled state carries
``FORMAT_VERSION`` under :data:`STATE_KEY`, and unpickling hands the state to
the class's loader for that version (``STATE_LOADERS``), which returns the
attributes of the current class. State pickled before versioning carries no
key and is version 1. So compatibility with old artefacts lives in one loader
per old format, read once at load time, instead of ``getattr`` fallbacks in
the serving path; and an artefact of a format this code does not know (a newer
Agora wrote it) fails to load with a clear :class:`ArtifactFormatError`
instead of serving half-initialised.

Changing a class's stored attributes means: bump ``FORMAT_VERSION``, keep the
previous loaders, and add one for the new version.

Example:
    >>> class Model(VersionedState):
    ...     FORMAT_VERSION = 2
    ...     def __init__(self) -> None:
    ...         self.weights, self.bias = [1.0], 0.0
    >>> Model.STATE_LOADERS = {1: lambda s: s | {"bias": 0.0}, 2: dict}
    >>> Model().__getstate__()[STATE_KEY]  # what pickle stores
    2
    >>> old = Model.__new__(Model)  # unpickling state stored before versioning
    >>> old.__setstate__({"weights": [1.0]})
    >>> old.bias
    0.0
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any, ClassVar

from agora.errors import AgoraError

#: The key of the format version in a pickled state.
STATE_KEY = "__agora_format__"

#: Turns the state of one stored format into the current attributes.
StateLoader = Callable[[dict[str, Any]], dict[str, Any]]


class ArtifactFormatError(AgoraError):
    """A stored model's format version is one this code cannot read."""

    status = 409
    title = "Unsupported model artifact format"


def load_state(
    cls: type, loaders: Mapping[int, StateLoader], state: dict[str, Any]
) -> dict[str, Any]:
    """The current attributes of ``cls`` from a pickled ``state`` of any supported version."""
    state = dict(state)
    version = state.pop(STATE_KEY, 1)
    loader = loaders.get(version) if isinstance(version, int) else None
    if loader is None:
        known = ", ".join(str(v) for v in sorted(loaders))
        raise ArtifactFormatError(
            f"{cls.__name__} artifact has format version {version!r}; this Agora reads "
            f"version(s) {known}: retrain the model, or load it with the Agora that saved it"
        )
    return loader(state)


class VersionedState:
    """Pickles with a format version and unpickles through a loader per version."""

    #: The format ``__getstate__`` writes.
    FORMAT_VERSION: ClassVar[int] = 1
    #: Format version -> loader; must hold ``FORMAT_VERSION`` and every older one still read.
    STATE_LOADERS: ClassVar[Mapping[int, StateLoader]] = {1: dict}

    def _stored_state(self) -> dict[str, Any]:
        """The attributes to pickle (a subclass may store some differently)."""
        return dict(self.__dict__)

    def __getstate__(self) -> dict[str, Any]:
        return {**self._stored_state(), STATE_KEY: self.FORMAT_VERSION}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(load_state(type(self), self.STATE_LOADERS, state))
