"""Reference quantization by the gguf package (gguf/quants.py) for gguf_quantize_test.cpp.

Reads {"input": F32_FILE, "cols": C, "types": [NAME, ...], "halves": F32_FILE, "out": DIR} as JSON
on stdin. Writes DIR/<NAME>.blocks: the input ([rows, C] float32) quantized by gguf.quants.quantize;
and DIR/halves.f16: the float32 values of "halves" converted by numpy's astype(float16). Prints
{"types": [NAME, ...]}.
"""
import json
import sys

import numpy as np
from gguf import GGMLQuantizationType as T
from gguf.quants import quantize


def main():
    request = json.load(sys.stdin)
    out = request["out"]
    data = np.fromfile(request["input"], dtype=np.float32).reshape(-1, request["cols"])
    done = []
    for name in request["types"]:
        with np.errstate(over="ignore"):  # scales of the 3e5 rows overflow fp16 as in gguf
            blocks = np.ascontiguousarray(quantize(data, T[name])).view(np.uint8)
        blocks.tofile(f"{out}/{name}.blocks")
        done.append(name)
    halves = np.fromfile(request["halves"], dtype=np.float32)
    with np.errstate(over="ignore"):
        halves.astype(np.float16).tofile(f"{out}/halves.f16")
    json.dump({"types": done}, sys.stdout)


main()
