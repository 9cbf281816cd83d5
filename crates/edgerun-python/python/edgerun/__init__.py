"""edgerun: run a neural-network model on the fastest backend this device has.

    import edgerun, numpy as np
    model = edgerun.load("mobilenetv2_mini.onnx")     # measures the installed backends
    print(model.decision)                             # what it measured and chose
    outputs = model.session().run({"input": np.zeros((1, 3, 224, 224), np.float32)})

Errors are edgerun.Error subclasses whose `kind` names what went wrong; mistakes in the
Python call itself (an argument of the wrong type, a closed session) are TypeError,
ValueError or RuntimeError, as Python's own libraries raise them.
"""

from ._native import (
    BackendError,
    Error,
    InvalidInputError,
    InvalidModelError,
    InvalidRequestError,
    IoError,
    Model,
    Session,
    TensorInfo,
    UnavailableError,
    UnsupportedError,
    __version__,
    info,
    load,
)

__all__ = [
    "BackendError",
    "Error",
    "InvalidInputError",
    "InvalidModelError",
    "InvalidRequestError",
    "IoError",
    "Model",
    "Session",
    "TensorInfo",
    "UnavailableError",
    "UnsupportedError",
    "__version__",
    "info",
    "load",
]
