"""Reference dequantization by the gguf package (gguf/quants.py) for gguf_quants_test.cpp.

Reads {"out": DIR, "seed": S, "quantize": [[name, safetensors], ...], "real": [[name, gguf], ...]} as JSON on stdin and writes, per
case, DIR/<case>.blocks (the raw blocks) and DIR/<case>.values (gguf's float32 result); prints
{"cases": [{"name", "type", "count"}]}.

Synthetic cases: random bytes for every supported type, with each block's fp16 scale fields set
to finite values of every kind (normal, subnormal, zero, negative), and all 65536 F16 bit
patterns. Real cases: the weights of the safetensors files named in "quantize" quantized by
gguf itself (the types gguf can quantize), and one tensor of each quantized type of the GGUF files
named in "real".
"""
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf import GGUFReader
from gguf.constants import GGML_QUANT_SIZES
from gguf.quants import dequantize, quantize
from safetensors import safe_open

# Byte offsets of the fp16 scale fields inside each block (ggml-common.h's block_* structs).
HALF_FIELDS = {
    T.Q4_0: [0], T.Q4_1: [0, 2], T.Q5_0: [0], T.Q5_1: [0, 2], T.Q8_0: [0],
    T.Q2_K: [80, 82], T.Q3_K: [108], T.Q4_K: [0, 2], T.Q5_K: [0, 2], T.Q6_K: [208],
}

def main():
    request = json.load(sys.stdin)
    out = request["out"]
    rng = np.random.default_rng(request.get("seed", 0))
    cases = []

    def emit(name, qtype, blocks):
        blocks = np.ascontiguousarray(blocks, dtype=np.uint8)
        values = dequantize(blocks, qtype).astype(np.float32, copy=False)
        blocks.tofile(f"{out}/{name}.blocks")
        values.tofile(f"{out}/{name}.values")
        cases.append({"name": name, "type": int(qtype), "count": int(values.size)})

    scales = np.concatenate([
        rng.normal(0, 0.05, 200).astype(np.float16),
        np.array([0, -0.0, 6.1e-05, -2.0e-07, 5.96e-08, 65504, -1.5], dtype=np.float16),
        (rng.integers(1, 1024, 20).astype(np.uint16)).view(np.float16),  # subnormals
    ])
    for qtype, fields in HALF_FIELDS.items():
        block_size, type_size = GGML_QUANT_SIZES[qtype]
        n_blocks = 96
        blocks = rng.integers(0, 256, (n_blocks, type_size), dtype=np.uint8)
        for offset in fields:
            halves = rng.choice(scales, n_blocks).astype(np.float16)
            blocks[:, offset:offset + 2] = halves.view(np.uint8).reshape(n_blocks, 2)
        emit(f"random_{qtype.name}", qtype, blocks.reshape(-1))
    emit("all_F16", T.F16, np.arange(65536, dtype=np.uint16).view(np.uint8))
    emit("random_BF16", T.BF16, rng.integers(0, 256, 4096, dtype=np.uint8))
    emit("random_F32", T.F32, rng.normal(0, 1, 512).astype(np.float32).view(np.uint8))

    for name, path in request.get("quantize", []):
        with safe_open(path, "np") as weights:
            for key in sorted(weights.keys())[:4]:
                tensor = weights.get_tensor(key).astype(np.float32)
                if tensor.shape[-1] % 32 != 0:
                    continue
                for qtype in (T.Q4_0, T.Q4_1, T.Q5_0, T.Q5_1, T.Q8_0):
                    emit(f"{name}_{key}_{qtype.name}", qtype, quantize(tensor, qtype).reshape(-1))

    for name, path in request.get("real", []):
        reader = GGUFReader(path)
        seen = set()
        for tensor in reader.tensors:
            if tensor.tensor_type in seen or tensor.tensor_type == T.F32:
                continue
            seen.add(tensor.tensor_type)
            rows = np.asarray(tensor.data).view(np.uint8)
            emit(f"{name}_{tensor.name}", tensor.tensor_type, rows[:64].reshape(-1))  # 64 rows

    json.dump({"cases": cases}, sys.stdout)

main()
