"""The client's own wheel, `adamtune_client`, built from this install's files when asked.

Why built here: a training machine that reaches the server needs nothing else (`pip install
http://tuner:8000/client/<wheel>`), and the wheel is always the server's own version of the
protocol. It holds `adamtune/__init__.py`, `adamtune/client.py` (standard library only) and the
framework integrations (`adamtune/integrations/`: each imports its framework only when imported
itself, and the wheel's extras `lightning` and `transformers` install them), so it installs no
torch, FastAPI or SQLAlchemy and no top-level package but `adamtune`. A wheel is a zip with its
metadata and a RECORD of hashes (PEP 427); that is all this writes.
"""

from __future__ import annotations

import base64
import hashlib
import io
import zipfile
from functools import cache
from pathlib import Path

import adamtune

DISTRIBUTION = "adamtune_client"
VERSION = adamtune.__version__
WHEEL_NAME = f"{DISTRIBUTION}-{VERSION}-py3-none-any.whl"
PACKAGE_DIR = Path(adamtune.__file__).resolve().parent
MODULES = (
    "__init__.py",
    "client.py",
    "integrations/__init__.py",
    "integrations/_trial.py",
    "integrations/lightning.py",
    "integrations/transformers.py",
)
# the same as pyproject.toml's extras of those names (a test keeps them equal)
EXTRAS = {
    "lightning": ["lightning>=2.2"],
    "transformers": ["transformers>=4.46", "accelerate>=1.1"],
}

_REQUIRES = "".join(
    f"Provides-Extra: {extra}\n"
    + "".join(f'Requires-Dist: {r}; extra == "{extra}"\n' for r in requirements)
    for extra, requirements in EXTRAS.items()
)
METADATA = f"""Metadata-Version: 2.1
Name: adamtune-client
Version: {VERSION}
Summary: Train adamtune's external studies in your own loop, over HTTP (standard library only).
Requires-Python: >=3.10
{_REQUIRES}"""
WHEEL = """Wheel-Version: 1.0
Generator: adamtune
Root-Is-Purelib: true
Tag: py3-none-any
"""


def _record_line(name: str, data: bytes) -> str:
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


@cache
def client_wheel() -> bytes:
    """The wheel's bytes (built once per process: the files do not change while it runs)."""
    info = f"{DISTRIBUTION}-{VERSION}.dist-info"
    files = {f"adamtune/{name}": (PACKAGE_DIR / name).read_bytes() for name in MODULES}
    files[f"{info}/METADATA"] = METADATA.encode()
    files[f"{info}/WHEEL"] = WHEEL.encode()
    files[f"{info}/top_level.txt"] = b"adamtune\n"
    record = [_record_line(name, data) for name, data in files.items()]
    record.append(f"{info}/RECORD,,")
    files[f"{info}/RECORD"] = ("\n".join(record) + "\n").encode()
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in files.items():
            archive.writestr(zipfile.ZipInfo(name, date_time=(2026, 1, 1, 0, 0, 0)), data)
    return buffer.getvalue()
