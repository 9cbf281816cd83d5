# Types of the extension module; the docs are on the objects themselves (help(edgerun.load)).
from os import PathLike
from typing import Any, Dict, List, Mapping, Optional, Sequence, Tuple, Union

import numpy as np

__version__: str

_Path = Union[str, "PathLike[str]"]
_Feed = Union[Mapping[str, Any], Sequence[Any]]

class Error(Exception):
    kind: Optional[str]

class IoError(Error): ...
class InvalidModelError(Error): ...
class UnsupportedError(Error): ...
class InvalidRequestError(Error): ...
class InvalidInputError(Error): ...
class UnavailableError(Error): ...
class BackendError(Error): ...

class TensorInfo:
    name: str
    dtype: str
    shape: Tuple[Optional[int], ...]
    scale: Optional[float]
    zero_point: Optional[int]

class Session:
    def run(self, inputs: _Feed) -> Dict[str, np.ndarray]: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Session": ...
    def __exit__(self, *exc: Any) -> None: ...

class Model:
    inputs: List[TensorInfo]
    outputs: List[TensorInfo]
    backend: str
    decision: str
    def session(self) -> Session: ...
    def close(self) -> None: ...
    def __enter__(self) -> "Model": ...
    def __exit__(self, *exc: Any) -> None: ...

def load(
    source: Union[_Path, bytes],
    *,
    name: Optional[str] = None,
    backend: str = "auto",
    threads: Optional[int] = None,
    affinity: Optional[str] = None,
    settings: Optional[Mapping[str, Any]] = None,
    cache: Optional[_Path] = None,
    input_shapes: Optional[Mapping[str, Tuple[int, ...]]] = None,
    policy: Optional[_Path] = None,
) -> Model: ...
def info() -> Dict[str, Any]: ...
