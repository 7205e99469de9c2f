"""docs/architecture.md must list every RPC method and every event subscription."""
import inspect
from pathlib import Path

import pytest
from nameko.rpc import Rpc

from stafett.events import BroadcastEventHandler, ReliableEventHandler
from stafett.run import COMPONENTS, service_class

DOC = (Path(__file__).resolve().parents[2] / "docs" / "architecture.md").read_text()


def entrypoints(component):
    for name, method in inspect.getmembers(service_class(component)):
        for entrypoint in getattr(method, "nameko_entrypoints", ()):
            yield name, entrypoint


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_rpc_method_is_documented(component):
    missing = [name for name, ep in entrypoints(component)
               if isinstance(ep, Rpc) and f"`{name}`" not in DOC]
    assert missing == []


@pytest.mark.parametrize("component", COMPONENTS)
def test_every_event_queue_is_documented(component):
    missing = []
    for name, ep in entrypoints(component):
        if isinstance(ep, (ReliableEventHandler, BroadcastEventHandler)):
            queue = f"evt-{ep.source_service}-{ep.event_type}--{component}.{name}"
            if isinstance(ep, BroadcastEventHandler):
                queue += "-<replica>"  # one queue per replica
            if f"`{queue}`" not in DOC:
                missing.append(queue)
    assert missing == []
