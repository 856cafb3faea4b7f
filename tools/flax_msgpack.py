"""Reads a checkpoint written by flax.serialization.to_bytes (flax.training.checkpoints, clu.checkpoint's
ckpt-N.flax) into plain dicts of NumPy arrays, without flax or jax.

The on-disk format (flax/serialization.py, read there, re-implemented here):
  - the state dict is one msgpack map; lists, tuples and named tuples were turned into maps with keys
    '0', '1', ... (or the field names) before packing, so the whole tree is maps of maps;
  - an ndarray is msgpack ext type 1 whose payload is itself msgpack: [shape, dtype name, C-order bytes];
    ext type 3 is a NumPy scalar (the same payload, 0-d), ext type 2 a complex (payload [real, imag]);
  - an array over 2**30 bytes is split into {'__msgpack_chunked_array__': True, 'shape': {'0': d0, ...},
    'chunks': {'0': flat part 0, ...}}, the flat C-order array cut into consecutive pieces.
"""
import numpy as np

try:
    import msgpack
except ImportError:  # reported by read_state_dict, so --help works without it
    msgpack = None

EXT_NDARRAY = 1
EXT_COMPLEX = 2
EXT_NPSCALAR = 3
CHUNKED_MARKER = "__msgpack_chunked_array__"


class FlaxFormatError(ValueError):
    """The bytes are not a flax msgpack state dict (the message says what was found)."""


def _decode_array(payload: bytes) -> np.ndarray:
    try:
        shape, dtype_name, buffer = msgpack.unpackb(payload, raw=True)
        if isinstance(dtype_name, bytes):
            dtype_name = dtype_name.decode("ascii")
        if dtype_name == "bfloat16":  # jax's bfloat16: the top 16 bits of a float32
            bits = np.frombuffer(buffer, dtype="<u2").astype(np.uint32) << 16
            return bits.view(np.float32).reshape(shape)
        return np.frombuffer(buffer, dtype=np.dtype(dtype_name)).reshape(shape, order="C")
    except (ValueError, TypeError, msgpack.ExtraData, msgpack.FormatError, msgpack.StackError) as e:
        raise FlaxFormatError("an ndarray record does not decode ({}: {})".format(type(e).__name__, e))


def _ext_hook(code: int, payload: bytes):
    if code == EXT_NDARRAY:
        return _decode_array(payload)
    if code == EXT_NPSCALAR:
        return _decode_array(payload)[()]
    if code == EXT_COMPLEX:
        real, imag = msgpack.unpackb(payload)
        return complex(real, imag)
    raise FlaxFormatError("unknown msgpack ext type {} (flax writes 1 ndarray, 2 complex, 3 scalar)".format(code))


def _indexed(d: dict, what: str):
    """A map with keys '0'..'n-1' as a list (how flax stores tuples)."""
    try:
        return [d[str(i)] for i in range(len(d))]
    except KeyError:
        raise FlaxFormatError("chunked array: {} keys {} are not '0'..'{}'".format(what, sorted(d), len(d) - 1))


def _unchunk(tree):
    if not isinstance(tree, dict):
        return tree
    if tree.get(CHUNKED_MARKER) is True:
        shape = [int(n) for n in _indexed(tree.get("shape", {}), "shape")]
        chunks = _indexed(tree.get("chunks", {}), "chunks")
        flat = np.concatenate([np.asarray(c).reshape(-1) for c in chunks]) if chunks else np.zeros(0)
        if flat.size != int(np.prod(shape)):
            raise FlaxFormatError("chunked array: {} elements in its chunks for shape {}".format(flat.size, shape))
        return flat.reshape(shape)
    return {k: _unchunk(v) for k, v in tree.items()}


def read_state_dict(data: bytes) -> dict:
    """The nested dict of a flax msgpack checkpoint; FlaxFormatError if the bytes are not one."""
    if msgpack is None:
        raise FlaxFormatError("python3-msgpack is not installed (apt-get install python3-msgpack, or "
                              "tools/install_deps.sh)")
    if not data:
        raise FlaxFormatError("the file is empty")
    try:
        tree = msgpack.unpackb(data, ext_hook=_ext_hook, raw=False, strict_map_key=False)
    except FlaxFormatError:
        raise
    except msgpack.ExtraData:
        raise FlaxFormatError("bytes follow the first msgpack object; not a single flax state dict")
    except (ValueError, msgpack.FormatError, msgpack.StackError) as e:
        # A truncated file ends inside a record: msgpack says "Unpack failed: incomplete input".
        raise FlaxFormatError("not a complete msgpack document ({}); a truncated download or another "
                              "format".format(e))
    if not isinstance(tree, dict):
        raise FlaxFormatError("the top-level msgpack object is a {}, not the map of a flax state dict".format(
            type(tree).__name__))
    return _unchunk(tree)


def flatten(tree: dict, prefix=()):
    """{(key, key, ...): leaf} of a nested dict."""
    out = {}
    for k, v in tree.items():
        if isinstance(v, dict):
            out.update(flatten(v, prefix + (k,)))
        else:
            out[prefix + (k,)] = v
    return out
