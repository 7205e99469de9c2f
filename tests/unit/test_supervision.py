"""A component that dies exits non-zero, and ``make run`` starts it again (issue 14)."""
import subprocess
import sys

import pytest

from stafett import run
from stafett.dev.stack import Supervisor
from tests.support.platform import wait_for


def test_a_component_whose_container_dies_exits_non_zero(monkeypatch):
    import nameko.cli.run

    def died(services, config):
        raise ConnectionResetError(104, "Connection reset by peer")  # as the logs container

    monkeypatch.setattr(nameko.cli.run, "run", died)
    monkeypatch.setattr("stafett.logging.configure", lambda *args: None)
    with pytest.raises(SystemExit) as exited:
        run.main(["logs"])
    assert exited.value.code == run.EXIT_DIED != 0


def test_a_component_stopped_cleanly_exits_zero(monkeypatch):
    import nameko.cli.run

    monkeypatch.setattr(nameko.cli.run, "run", lambda services, config: None)
    monkeypatch.setattr("stafett.logging.configure", lambda *args: None)
    assert run.main(["logs"]) is None  # python -m: exit status 0


class Clock:
    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def test_make_run_starts_a_dead_component_again_with_backoff():
    started, said, clock = [], [], Clock()

    def start(name):  # the first run dies at once, the others live
        code = "import sys; sys.exit(3)" if not started else "import time; time.sleep(30)"
        process = subprocess.Popen([sys.executable, "-c", code])
        started.append(process)
        return process

    supervisor = Supervisor(start, ["logs"], base=1, cap=30, clock=clock,
                            say=lambda *args, **kwargs: said.append(args[0]))
    try:
        wait_for(lambda: started[0].poll() is not None, timeout=10, message="the death")
        assert supervisor.check() == []  # noticed; waits a second first
        assert "logs stoppet (kode 3)" in said[0]
        clock.now += 0.5
        assert supervisor.check() == []
        clock.now += 0.6
        assert supervisor.check() == ["logs"]
        assert supervisor.processes["logs"] is started[1] and started[1].poll() is None
        assert supervisor.check() == []  # alive: left alone
    finally:
        for process in started:
            if process.poll() is None:
                process.kill()
                process.wait(5)


def test_quick_deaths_wait_longer_up_to_the_cap():
    clock, said = Clock(), []

    class Dead:
        def poll(self):
            return 1

    supervisor = Supervisor(lambda name: Dead(), ["gateway"], base=1, cap=4, clock=clock,
                            say=lambda *args, **kwargs: said.append(args[0]))
    waits = []
    for _ in range(5):
        supervisor.check()
        waits.append(supervisor.due["gateway"] - clock.now)
        clock.now = supervisor.due["gateway"]
        assert supervisor.check() == ["gateway"]
    assert waits == [1, 2, 4, 4, 4]
