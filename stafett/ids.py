"""Identifiers of the rows a service creates."""
from __future__ import annotations

import uuid


def new_id() -> str:
    """A new random (version 4) UUID in its canonical text form."""
    return str(uuid.uuid4())
