"""What paramtui knows about each dtype, without importing torch."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class DType:
    name: str  # torch's name, without the "torch." prefix
    itemsize: int  # bytes per element (bits/8 for sub-byte types is not supported)
    kind: str  # "float", "int", "uint", "bool", "complex", "quantized"


_TABLE = [
    DType("float64", 8, "float"),
    DType("float32", 4, "float"),
    DType("float16", 2, "float"),
    DType("bfloat16", 2, "float"),
    DType("float8_e4m3fn", 1, "float"),
    DType("float8_e4m3fnuz", 1, "float"),
    DType("float8_e5m2", 1, "float"),
    DType("float8_e5m2fnuz", 1, "float"),
    DType("float8_e8m0fnu", 1, "float"),
    DType("complex128", 16, "complex"),
    DType("complex64", 8, "complex"),
    DType("complex32", 4, "complex"),
    DType("int64", 8, "int"),
    DType("int32", 4, "int"),
    DType("int16", 2, "int"),
    DType("int8", 1, "int"),
    DType("uint64", 8, "uint"),
    DType("uint32", 4, "uint"),
    DType("uint16", 2, "uint"),
    DType("uint8", 1, "uint"),
    DType("bool", 1, "bool"),
    DType("qint8", 1, "quantized"),
    DType("quint8", 1, "quantized"),
    DType("qint32", 4, "quantized"),
    DType("quint4x2", 1, "quantized"),
    DType("quint2x4", 1, "quantized"),
]
DTYPES: dict[str, DType] = {d.name: d for d in _TABLE}

# Legacy typed-storage class names found in pickles (e.g. GLOBAL 'torch FloatStorage').
STORAGE_CLASS_DTYPES: dict[str, str] = {
    "DoubleStorage": "float64",
    "FloatStorage": "float32",
    "HalfStorage": "float16",
    "BFloat16Storage": "bfloat16",
    "ComplexDoubleStorage": "complex128",
    "ComplexFloatStorage": "complex64",
    "LongStorage": "int64",
    "IntStorage": "int32",
    "ShortStorage": "int16",
    "CharStorage": "int8",
    "ByteStorage": "uint8",
    "BoolStorage": "bool",
    "QInt8Storage": "qint8",
    "QUInt8Storage": "quint8",
    "QInt32Storage": "qint32",
    "QUInt4x2Storage": "quint4x2",
    "QUInt2x4Storage": "quint2x4",
    "UntypedStorage": "uint8",
}

# safetensors header codes -> torch names.
SAFETENSORS_DTYPES: dict[str, str] = {
    "F64": "float64",
    "F32": "float32",
    "F16": "float16",
    "BF16": "bfloat16",
    "F8_E4M3": "float8_e4m3fn",
    "F8_E5M2": "float8_e5m2",
    "F8_E4M3FNUZ": "float8_e4m3fnuz",
    "F8_E5M2FNUZ": "float8_e5m2fnuz",
    "F8_E8M0": "float8_e8m0fnu",
    "C64": "complex64",
    "I64": "int64",
    "I32": "int32",
    "I16": "int16",
    "I8": "int8",
    "U64": "uint64",
    "U32": "uint32",
    "U16": "uint16",
    "U8": "uint8",
    "BOOL": "bool",
}


GGUF_PREFIX = "gguf:"  # block-quantized GGUF types, e.g. "gguf:Q4_K"; sizes come from the file


def dtype_info(name: str) -> DType:
    """The DType for a torch dtype name; unknown names get itemsize 1 and kind 'unknown'."""
    found = DTYPES.get(name)
    if found is not None:
        return found
    if name.startswith(GGUF_PREFIX):
        return DType(name, 1, "quantized")  # itemsize is meaningless: TensorInfo.stored_nbytes
    return DType(name, 1, "unknown")
