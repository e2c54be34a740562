"""One botocore data loader per process (per data path) for every session the sources make.

Each botocore session parses its own endpoints.json (7 MB of dicts) and service models (IAM's:
2.3 MB) again; the TUI has two sessions (the view's and the FactReader's, made anew every ten
minutes) and one per other account. The loader's data is read-only once loaded (botocore caches
it per loader, as one session shares it between its clients).
"""

from __future__ import annotations

import threading
from typing import Any

import botocore.loaders

_loaders: dict[Any, Any] = {}  # botocore's data path → the Loader every session of this process shares
_lock = threading.Lock()


def shared_loader(core: Any) -> Any:
    """The process's loader for this botocore session's data path (register it as `data_loader`)."""
    path = core.get_config_variable("data_path")
    with _lock:
        loader = _loaders.get(path)
        if loader is None:
            loader = _loaders[path] = botocore.loaders.create_loader(path)
        return loader


def tidy_search_paths(core: Any) -> None:
    """boto3 adds its own data path to the loader for each session it makes: once is enough."""
    paths = core.get_component("data_loader").search_paths
    with _lock:
        paths[:] = list(dict.fromkeys(paths))
