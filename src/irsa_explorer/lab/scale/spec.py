"""How big a `--scale` cluster is: `ScaleSpec`, and the option's text (`pods=N,…`, `full`, `quick`)."""

from __future__ import annotations

import re
from dataclasses import dataclass

SCALE_KEYS = ("pods", "namespaces", "serviceaccounts", "roles", "nodes")

# The most each key may be: ten times the full benchmark, which a lab seeds in minutes; beyond
# it a typo (pods=10000000000) would only fill the memory.
LIMITS = {"pods": 100_000, "namespaces": 10_000, "serviceaccounts": 100_000, "roles": 10_000, "nodes": 5_000}

FULL = "pods=10000,namespaces=200,serviceaccounts=2000,roles=500,nodes=100"
QUICK = "pods=400,namespaces=12,serviceaccounts=80,roles=24,nodes=6"


@dataclass(frozen=True)
class ScaleSpec:
    """How big the generated cluster is. Service accounts and roles exclude the defaults."""

    pods: int
    namespaces: int
    serviceaccounts: int
    roles: int
    nodes: int
    seed: int = 20240330

    def as_text(self) -> str:
        return ",".join(f"{key}={getattr(self, key)}" for key in SCALE_KEYS)


def parse_scale(text: str, *, seed: int | None = None) -> ScaleSpec:
    """Parse `pods=N,namespaces=N,serviceaccounts=N,roles=N,nodes=N` (or `full` / `quick`).

    Keys left out get a value in proportion to `pods` (the full benchmark's ratios). Raises
    ValueError naming the offending part, so `lab serve --scale` can print it as is.
    """
    text = text.strip()
    presets = {"full": FULL, "quick": QUICK}
    text = presets.get(text.lower(), text)
    values: dict[str, int] = {}
    for part in filter(None, (p.strip() for p in text.split(","))):
        key, sep, raw = part.partition("=")
        key = key.strip().lower()
        if not sep:
            raise ValueError(f"--scale: {part!r} is not KEY=N (keys: {', '.join(SCALE_KEYS)})")
        if key in ("sa", "sas", "service-accounts", "service_accounts"):
            key = "serviceaccounts"
        if key not in SCALE_KEYS:
            raise ValueError(f"--scale: unknown key {key!r} (keys: {', '.join(SCALE_KEYS)})")
        if key in values:
            raise ValueError(f"--scale: {key} given twice")
        number = _parse_count(raw.strip())
        if number is None or number < 0:
            raise ValueError(f"--scale: {key}={raw.strip()!r} is not a non-negative whole number")
        if number > LIMITS[key]:
            raise ValueError(f"--scale: {key}={raw.strip()} is too many (0 to {LIMITS[key]:,})")
        values[key] = number
    if "pods" not in values:
        raise ValueError("--scale: pods=N is required")
    pods = values["pods"]
    defaults = {
        "namespaces": max(1, pods // 50),
        "serviceaccounts": max(1, pods // 5),
        "roles": max(1, pods // 20),
        "nodes": max(1, pods // 100),
    }
    merged = {key: values.get(key, defaults.get(key, pods)) for key in SCALE_KEYS}
    if merged["pods"] and merged["nodes"] < 1:
        raise ValueError("--scale: pods need at least one node (nodes=1)")
    if merged["namespaces"] < 1:
        raise ValueError("--scale: namespaces must be at least 1")
    spec = ScaleSpec(**merged)
    return spec if seed is None else ScaleSpec(**merged, seed=seed)


def _parse_count(raw: str) -> int | None:
    # "10k" and "10_000" are what people type for big numbers.
    match = re.fullmatch(r"(\d[\d_]*)([kK]?)", raw)
    if not match:
        return None
    number = int(match.group(1).replace("_", ""))
    return number * 1000 if match.group(2) else number
