"""Write two one-op TensorFlow Lite models, x f32 [1,8] -> op -> y f32 [1,8]:

- custom_op.tflite: the custom op "EdgerunMysteryOp". No TensorFlow Lite runtime has a kernel
  for it, so loading the model must fail with an error that names it.
- relu.tflite: the builtin RELU, which every backend reading TensorFlow Lite runs (tract's
  reader included): the small model mutation tests start from.
 The file is built field by field with the flatbuffers package
(`pip install flatbuffers`), following TensorFlow Lite's schema (schema.fbs): table fields are
numbered in schema order.
"""
import os

import flatbuffers

HERE = os.path.dirname(os.path.abspath(__file__))
CUSTOM = 32
RELU = 19
CAST = 53
FLOAT32 = 0
BFLOAT16 = 18


def vector(b, items, prepend):
    b.StartVector(4 if prepend != b.PrependUint8 else 1, len(items), 4)
    for item in reversed(items):
        prepend(item)
    return b.EndVector()


def table(b, fields):
    """fields: (slot, kind, value) with kind 'offset', 'uint32', 'int32' or 'uint8'."""
    b.StartObject(max(slot for slot, _, _ in fields) + 1)
    for slot, kind, value in fields:
        if kind == "offset":
            b.PrependUOffsetTRelativeSlot(slot, value, 0)
        elif kind == "uint32":
            b.PrependUint32Slot(slot, value, 0xFFFFFFFF)
        elif kind == "int32":
            b.PrependInt32Slot(slot, value, -1)
        elif kind == "uint8":
            b.PrependUint8Slot(slot, value, 0xFF)
    return b.EndObject()


def write(filename, description, codes, tensors, ops, inputs, outputs):
    """codes: (builtin code, custom name or None) per operator code; tensors: (name, type);
    ops: (code index, input tensors, output tensors); every tensor is [1, 8]."""
    b = flatbuffers.Builder(1024)
    # strings first: a table cannot be open while they are written
    custom_names = [b.CreateString(c) if c else None for _, c in codes]
    names = [b.CreateString(name) for name, _ in tensors]

    # Buffer 0: the empty buffer every model starts with
    empty = table(b, [(0, "offset", vector(b, [], b.PrependUint8))])

    # OperatorCode: deprecated_builtin_code (0), custom_code (1), version (2), builtin_code (3)
    opcodes = []
    for (code, _), custom_name in zip(codes, custom_names):
        fields = [(0, "uint8", code), (2, "int32", 1), (3, "int32", code)]
        if custom_name:
            fields.insert(1, (1, "offset", custom_name))
        opcodes.append(table(b, fields))

    # Tensor: shape (0), type (1), buffer (2), name (3)
    tables = []
    for name, (_, ty) in zip(names, tensors):
        shape = vector(b, [1, 8], b.PrependInt32)
        tables.append(table(b, [(0, "offset", shape), (1, "uint8", ty),
                                (2, "uint32", 0), (3, "offset", name)]))

    # Operator: opcode_index (0), inputs (1), outputs (2)
    operators = [table(b, [(0, "uint32", k), (1, "offset", vector(b, ins, b.PrependInt32)),
                           (2, "offset", vector(b, outs, b.PrependInt32))])
                 for k, ins, outs in ops]

    # SubGraph: tensors (0), inputs (1), outputs (2), operators (3), name (4)
    subgraph = table(b, [(0, "offset", vector(b, tables, b.PrependUOffsetTRelative)),
                         (1, "offset", vector(b, inputs, b.PrependInt32)),
                         (2, "offset", vector(b, outputs, b.PrependInt32)),
                         (3, "offset", vector(b, operators, b.PrependUOffsetTRelative)),
                         (4, "offset", b.CreateString("main"))])

    # Model: version (0), operator_codes (1), subgraphs (2), description (3), buffers (4)
    model = table(b, [(0, "uint32", 3),
                      (1, "offset", vector(b, opcodes, b.PrependUOffsetTRelative)),
                      (2, "offset", vector(b, [subgraph], b.PrependUOffsetTRelative)),
                      (3, "offset", b.CreateString(description)),
                      (4, "offset", vector(b, [empty], b.PrependUOffsetTRelative))])
    b.Finish(model, file_identifier=b"TFL3")
    path = os.path.join(HERE, filename)
    with open(path, "wb") as f:
        f.write(b.Output())
    print(f"wrote {filename} ({os.path.getsize(path)} bytes)")


def one_op(filename, code, custom, description):
    write(filename, description, [(code, custom)], [("x", FLOAT32), ("y", FLOAT32)],
          [(0, [0], [1])], [0], [1])


def main():
    one_op("custom_op.tflite", CUSTOM, "EdgerunMysteryOp", "edgerun test: a custom op no runtime has")
    one_op("relu.tflite", RELU, None, "edgerun test: one RELU")
    # bfloat16 both ways: x bf16 -> CAST -> y f32, u f32 -> CAST -> v bf16
    write("cast_bf16.tflite", "edgerun test: bfloat16 in and out", [(CAST, None)],
          [("x", BFLOAT16), ("y", FLOAT32), ("u", FLOAT32), ("v", BFLOAT16)],
          [(0, [0], [1]), (0, [2], [3])], [0, 2], [1, 3])


if __name__ == "__main__":
    main()
