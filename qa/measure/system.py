"""What the measuring tools read of the machine and the process: the CPU's name, resident memory
(peak and current), and a fingerprint of the pipeline's code (so a run can tell whether all its
processes ran the same code). Shared by `qa bench` and `qa bench --stores`.
"""

from __future__ import annotations

import hashlib
import platform
import resource
from pathlib import Path


def _status_mb(field: str) -> float | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1]) / 1024
    except (OSError, ValueError, IndexError):
        pass
    return None


def peak_rss_mb() -> float:
    """Peak resident memory of this process so far. Linux's VmHWM when available: ru_maxrss
    (kB on Linux) is carried over from the parent into a child started with vfork + exec, so
    a child of a 3 GB process would report at least 3 GB whatever it used itself."""
    hwm = _status_mb("VmHWM")
    return hwm if hwm is not None else resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def current_rss_mb() -> float:
    rss = _status_mb("VmRSS")
    return rss if rss is not None else peak_rss_mb()


def cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor()


NOT_PIPELINE = {"measure", "cli.py"}  # sources that do not change what is measured (the tools)


PACKAGE = Path(__file__).resolve().parents[1]  # qa/


def code_fingerprint(package: Path = PACKAGE) -> str:
    """Hash of the pipeline's sources (qa/*.py but the tools, calibration.json). Each process
    reports it right after importing qa, so a run can tell whether all its processes ran the same
    code (files edited mid-run would make the default/naive comparison meaningless)."""
    h = hashlib.sha256()
    for path in sorted([*package.rglob("*.py"), *package.glob("*.json")]):
        rel = path.relative_to(package)
        if rel.parts[0] not in NOT_PIPELINE:
            h.update(rel.as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()[:12]
