"""``python -m tests.support.without_once logs``: ``python -m stafett.run logs`` with
``@once`` taken off ``LogsService.add_measure`` (the RPC entrypoint stays), to show that the
fault run finds the duplicates idempotency prevents (tests/e2e/test_faults.py)."""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import sys  # noqa: E402

from services.logs.service import LogsService  # noqa: E402
from stafett import run  # noqa: E402


def without_once(cls, name: str) -> None:
    recorded = getattr(cls, name)
    assert getattr(recorded, "stafett_once", False), f"{name} is not @once"
    bare = recorded.__wrapped__
    bare.nameko_entrypoints = recorded.nameko_entrypoints  # still an @rpc entrypoint
    setattr(cls, name, bare)


if __name__ == "__main__":
    without_once(LogsService, "add_measure")
    run.main(sys.argv[1:])
