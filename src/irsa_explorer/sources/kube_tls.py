"""The kubeconfig's TLS material (CA, client certificate, client key) kept in memory only.

The kubernetes client writes `certificate-authority-data`, `client-certificate-data` and
`client-key-data` to `$TMPDIR/tmp*` files and removes them at a normal exit only: a killed
process leaves the cluster's CA and the user's private key on disk. Python's `ssl` (under
urllib3 and websocket-client alike) loads certificates and keys from paths only, so on Linux
each one is an anonymous memory file (`memfd_create`) named by `/proc/self/fd/N`: a path every
part of the client can open, that no other process sees and that is gone with the process
however it ends. The kubeconfig's `*-data` fields are replaced by such paths in the merged copy
the client reads (never in the file), so the client writes nothing.

Where memory files do not exist (macOS), the client's own behaviour is kept (temp files,
removed at exit); docs/real-clusters.md says so.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import os
import threading
from typing import Any

MEMORY_FILES = hasattr(os, "memfd_create") and os.path.isdir("/proc/self/fd")

# (CA/cert/key data field, the file field it stands for, what it is called in messages)
_FIELDS = {
    "clusters": (("certificate-authority-data", "certificate-authority", "certificate authority"),),
    "users": (("client-certificate-data", "client-certificate", "client certificate"),
              ("client-key-data", "client-key", "client key")),
}
_PREFIX = "/proc/self/fd/"
_files: dict[str, int] = {}  # sha256 of the content → its memory file's descriptor (shared by sources)
_lock = threading.Lock()


class TlsDataError(ValueError):
    """A `*-data` field that is not base64 of a PEM block; the message names the entry and field."""


def decoded(value: Any, where: str, what: str) -> bytes:
    """The bytes of a base64 `*-data` field, checked to be PEM (as kubectl needs them)."""
    if not isinstance(value, str) or not value.strip():
        raise TlsDataError(f"{where}: {what} data is not a base64 string")
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise TlsDataError(f"{where}: {what} data is not valid base64") from None
    if b"-----BEGIN " not in data:
        raise TlsDataError(f"{where}: {what} data is not a PEM block (-----BEGIN …)")
    return data


def memory_file(data: bytes) -> str:
    """A path naming `data` in this process's memory only (one per distinct content)."""
    key = hashlib.sha256(data).hexdigest()
    with _lock:
        fd = _files.get(key)
        if fd is None:
            fd = os.memfd_create("irsa-explorer-tls", os.MFD_CLOEXEC)  # not inherited by children
            os.write(fd, data)
            _files[key] = fd
    return f"{_PREFIX}{fd}"


def is_memory_file(path: Any) -> bool:
    return isinstance(path, str) and path.startswith(_PREFIX)


def read_memory_file(path: str) -> bytes:
    with open(path, "rb") as handle:
        return handle.read()


def keep_in_memory(merged: Any, files: str, cluster: str, user: str) -> None:
    """Replace the `*-data` TLS fields of the context's cluster and user in the merged
    kubeconfig (the client's ConfigNode copy, never the file) by memory files' paths. Raises
    TlsDataError naming the file, the entry and the field when one is not base64 PEM. Where
    memory files do not exist, only checks the fields."""
    for kind, fields in _FIELDS.items():
        section, name = ("cluster", cluster) if kind == "clusters" else ("user", user)
        for node in merged.value.get(kind) or []:
            entry = node.value if isinstance(node.value, dict) else None
            if entry is None or str(entry.get("name")) != name or not isinstance(entry.get(section), dict):
                continue
            settings = dict(entry[section])
            changed = False
            for data_key, file_key, what in fields:
                if data_key not in settings:
                    continue
                where = f"kubeconfig {files}: {section} {str(entry.get('name'))!r}, {data_key}"
                data = decoded(settings[data_key], where, what)
                if MEMORY_FILES:
                    del settings[data_key]
                    settings[file_key] = memory_file(data)
                    changed = True
            if changed:
                node.value = dict(entry, **{section: settings})


# What `handover` carries instead of this process's memory paths (meaningless in another one)
HANDED_OVER_FILES = ("ssl_ca_cert", "cert_file", "key_file")


def files_to_data(settings: dict[str, Any]) -> dict[str, Any]:
    """Settings for another process: memory paths replaced by their content (in memory, on a pipe)."""
    out = dict(settings)
    contents = {}
    for name in HANDED_OVER_FILES:
        if is_memory_file(out.get(name)):
            contents[name] = read_memory_file(out.pop(name))
    if contents:
        out["_tls_in_memory"] = contents
    return out


def data_to_files(settings: dict[str, Any]) -> dict[str, Any]:
    """`files_to_data` undone in the receiving process: its own memory files (or, without them,
    the CA as data and the rest refused)."""
    out = dict(settings)
    contents = out.pop("_tls_in_memory", None) or {}
    for name, data in contents.items():
        if MEMORY_FILES:
            out[name] = memory_file(data)
        elif name == "ssl_ca_cert":
            out["ca_cert_data"] = data.decode("ascii", "replace")
    return out
