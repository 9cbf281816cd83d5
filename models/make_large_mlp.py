#!/usr/bin/env python3
"""Write models/fetched/mlp_1024x8.tflite (git-ignored, 32 MB): x f32 [1,1024] -> 8
FULLY_CONNECTED layers with seeded float32 weights [1024,1024] and no bias -> y f32 [1,1024].

A model whose load is mostly XNNPACK packing its weights, for measuring what keeping the packed
weights saves (`litert_weight_cache`, see the guide's Warm starts). Built field by field with
the flatbuffers package, as make_small_tflite.py does (`pip install flatbuffers numpy`).

Usage: models/make_large_mlp.py [--width N] [--layers N] [--out FILE]
"""
import argparse
import os

import flatbuffers
import numpy as np

from make_small_tflite import table, vector

HERE = os.path.dirname(os.path.abspath(__file__))
FULLY_CONNECTED = 9
FLOAT32 = 0


def mlp(width, layers):
    b = flatbuffers.Builder(1 << 20)
    rng = np.random.default_rng(0)
    names = [b.CreateString(f"t{i}") for i in range(2 * layers + 1)]
    # buffer 0 is the empty one; then one weight buffer per layer, 16-byte aligned
    buffers = [table(b, [(0, "offset", vector(b, [], b.PrependUint8))])]
    for _ in range(layers):
        w = (rng.standard_normal((width, width)) / np.sqrt(width)).astype(np.float32)
        b.StartVector(1, w.nbytes, 16)
        b.head -= w.nbytes
        b.Bytes[b.head:b.head + w.nbytes] = w.tobytes()
        buffers.append(table(b, [(0, "offset", b.EndVector())]))
    # tensors: activations at even indices, the weights of layer l at 2l+1
    tensors = []
    for i in range(2 * layers + 1):
        weight = i % 2 == 1
        shape = vector(b, [width, width] if weight else [1, width], b.PrependInt32)
        tensors.append(table(b, [(0, "offset", shape), (1, "uint8", FLOAT32),
                                 (2, "uint32", (i + 1) // 2 if weight else 0),
                                 (3, "offset", names[i])]))
    # inputs: activation, weights, no bias (-1)
    ops = [table(b, [(0, "uint32", 0),
                     (1, "offset", vector(b, [2 * l, 2 * l + 1, -1], b.PrependInt32)),
                     (2, "offset", vector(b, [2 * l + 2], b.PrependInt32))])
           for l in range(layers)]
    opcode = table(b, [(0, "uint8", FULLY_CONNECTED), (2, "int32", 1), (3, "int32", FULLY_CONNECTED)])
    subgraph = table(b, [(0, "offset", vector(b, tensors, b.PrependUOffsetTRelative)),
                         (1, "offset", vector(b, [0], b.PrependInt32)),
                         (2, "offset", vector(b, [2 * layers], b.PrependInt32)),
                         (3, "offset", vector(b, ops, b.PrependUOffsetTRelative)),
                         (4, "offset", b.CreateString("main"))])
    model = table(b, [(0, "uint32", 3),
                      (1, "offset", vector(b, [opcode], b.PrependUOffsetTRelative)),
                      (2, "offset", vector(b, [subgraph], b.PrependUOffsetTRelative)),
                      (3, "offset", b.CreateString("edgerun bench: a large float MLP")),
                      (4, "offset", vector(b, buffers, b.PrependUOffsetTRelative))])
    b.Finish(model, file_identifier=b"TFL3")
    return b.Output()


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--width", type=int, default=1024)
    ap.add_argument("--layers", type=int, default=8)
    ap.add_argument("--out", default=os.path.join(HERE, "fetched", "mlp_1024x8.tflite"))
    args = ap.parse_args()
    os.makedirs(os.path.dirname(args.out), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(mlp(args.width, args.layers))
    print(args.out)


if __name__ == "__main__":
    main()
