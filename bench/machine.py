"""What every benchmark result records: the machine and the library versions it ran on."""

from __future__ import annotations

import json
import os
import platform
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).resolve().parent / "results"
_PACKAGES = ("torch", "sentence-transformers", "onnxruntime", "faiss-cpu", "numpy")


def facts() -> dict[str, Any]:
    cpu = next((line.split(":", 1)[1].strip() for line in _read("/proc/cpuinfo")
                if line.startswith("model name")), platform.processor() or platform.machine())
    memory = next((int(line.split()[1]) // 1024 for line in _read("/proc/meminfo")
                   if line.startswith("MemTotal")), 0)
    versions = {}
    for name in _PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_mb": memory,
            "python": platform.python_version(), "packages": versions,
            "measured_at": datetime.now(UTC).isoformat(timespec="seconds")}


def write(name: str, result: dict[str, Any]) -> Path:
    """bench/results/NAME.json, with the machine facts beside the figures."""
    RESULTS.mkdir(exist_ok=True)
    path = RESULTS / f"{name}.json"
    path.write_text(json.dumps({"machine": facts(), **result}, indent=2), encoding="utf-8")
    return path


def _read(path: str) -> list[str]:
    try:
        return Path(path).read_text(encoding="utf-8").splitlines()
    except OSError:
        return []
