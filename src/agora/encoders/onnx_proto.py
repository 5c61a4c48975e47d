"""The few ONNX protobuf messages a converted CNN needs, written without the ``onnx`` package.

The ``onnx`` package (31 MB installed, with its test data) was needed only to
write one file on first use; the run install stays under its size goal
without it. These functions emit the protobuf wire format of ``onnx.proto``
(field numbers as in that file) for float tensors, nodes with integer
attributes, value infos, a graph and a model. The tests parse the output with
the real ``onnx`` package (a test dependency) and run its checker.

Example:
    >>> node = make_node("Relu", ["x"], ["y"])
    >>> node[:2]
    b'\\n\\x01'
"""

from __future__ import annotations

import numpy as np

FLOAT = 1  # TensorProto.DataType.FLOAT
_ATTR_INT, _ATTR_INTS = 2, 7  # AttributeProto.AttributeType
_VARINT, _LEN = 0, 2  # wire types


def _varint(value: int) -> bytes:
    value &= (1 << 64) - 1  # int64: negatives as two's complement, ten bytes
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _key(field: int, wire: int) -> bytes:
    return _varint(field << 3 | wire)


def _int(field: int, value: int) -> bytes:
    return _key(field, _VARINT) + _varint(value)


def _bytes(field: int, payload: bytes) -> bytes:
    return _key(field, _LEN) + _varint(len(payload)) + payload


def _str(field: int, text: str) -> bytes:
    return _bytes(field, text.encode())


def _packed(field: int, values: list[int]) -> bytes:
    return _bytes(field, b"".join(_varint(v) for v in values))


def make_tensor(name: str, array: np.ndarray) -> bytes:
    """A float32 ``TensorProto`` (raw little-endian data)."""
    data = np.asarray(array, dtype="<f4", order="C")  # (ascontiguousarray makes 0-d 1-d)
    dims = _packed(1, list(data.shape)) if data.ndim else b""
    return dims + _int(2, FLOAT) + _str(8, name) + _bytes(9, data.tobytes())


def _attribute(name: str, value: int | list[int]) -> bytes:
    if isinstance(value, bool) or not isinstance(value, int | list):
        raise TypeError(f"attribute {name}: only ints and lists of ints are written")
    if isinstance(value, int):
        return _str(1, name) + _int(3, value) + _int(20, _ATTR_INT)
    return _str(1, name) + _packed(8, value) + _int(20, _ATTR_INTS)


def make_node(op: str, inputs: list[str], outputs: list[str], **attrs: int | list[int]) -> bytes:
    """A ``NodeProto`` of the default domain."""
    body = b"".join(_str(1, i) for i in inputs) + b"".join(_str(2, o) for o in outputs)
    body += _str(4, op)
    return body + b"".join(_bytes(5, _attribute(k, v)) for k, v in sorted(attrs.items()))


def make_value_info(name: str, dims: list[int | str]) -> bytes:
    """A float tensor ``ValueInfoProto``; a str dimension is symbolic (e.g. "batch")."""
    shape = b"".join(_bytes(1, _str(2, d) if isinstance(d, str) else _int(1, d)) for d in dims)
    tensor_type = _int(1, FLOAT) + _bytes(2, shape)
    return _str(1, name) + _bytes(2, _bytes(1, tensor_type))


def make_model(
    name: str,
    nodes: list[bytes],
    initializers: list[bytes],
    inputs: list[bytes],
    outputs: list[bytes],
    *,
    opset: int,
    ir_version: int,
    producer: str,
) -> bytes:
    """A serialised ``ModelProto`` holding one graph."""
    graph = b"".join(_bytes(1, n) for n in nodes) + _str(2, name)
    graph += b"".join(_bytes(5, t) for t in initializers)
    graph += b"".join(_bytes(11, i) for i in inputs) + b"".join(_bytes(12, o) for o in outputs)
    opset_id = _str(1, "") + _int(2, opset)
    return _int(1, ir_version) + _str(2, producer) + _bytes(7, graph) + _bytes(8, opset_id)
