"""The test process's side of tests/browser/remote.py: Playwright's API, over a pipe.

``RemoteObject`` records attribute reads and calls (``page.get_by_role("link", name="X")``)
and sends the chain to the browser process when a call that acts or reads is made
(``.click()``, ``.inner_text()``). Locator-building calls stay lazy, as in Playwright.
The pipe is read through eventlet's green subprocess, so the platform's containers in
this process keep serving the browser while a test waits for it.
"""
from __future__ import annotations

import itertools
import json
import re
import sys
from pathlib import Path
from types import SimpleNamespace

import eventlet
from eventlet.green import subprocess

REMOTE = Path(__file__).with_name("remote.py")
#: calls that build a locator (or a frame locator) without touching the page
LAZY = {"get_by_role", "get_by_label", "get_by_text", "get_by_placeholder", "get_by_title",
        "get_by_alt_text", "get_by_test_id", "locator", "filter", "nth", "frame_locator",
        "and_", "or_"}
#: properties that are values, read at once (``page.url``)
VALUES = {"url"}
ANSWER_SECONDS = 90


class BrowserError(AssertionError):
    """Something Playwright raised in the browser process (a timeout, a missing element)."""


class RemoteBrowser:
    def __init__(self, executable: str, args: list[str], log_path: Path):
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self._log = open(log_path, "ab")
        self._proc = subprocess.Popen([sys.executable, str(REMOTE), executable, json.dumps(args)],
                                      stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                                      stderr=self._log)
        self._ids = itertools.count(1)
        self._broken: str | None = None
        self.version = self._read()

    def request(self, payload: dict):
        if self._broken:
            raise BrowserError(f"the browser process was given up on: {self._broken}")
        self._proc.stdin.write((json.dumps(payload) + "\n").encode())
        self._proc.stdin.flush()
        return self._read()

    def _read(self):
        try:
            with eventlet.Timeout(ANSWER_SECONDS):
                line = self._proc.stdout.readline()
        except eventlet.Timeout:
            # a late answer would be taken for the next request's: give up on the process
            self._broken = f"no answer within {ANSWER_SECONDS} s"
            self._proc.kill()
            raise BrowserError(f"the browser process did not answer within {ANSWER_SECONDS} s")
        if not line:
            raise BrowserError(f"the browser process ended (exit {self._proc.poll()}); "
                               f"see {self._log.name}")
        answer = json.loads(line)
        if "error" in answer:
            raise BrowserError(f"{answer['error']}: {answer['message']}")
        return answer["ok"]

    def new_context(self, **options) -> str:
        context_id = f"c{next(self._ids)}"
        self.request({"op": "new_context", "id": context_id, "options": options})
        return context_id

    def close(self) -> None:
        try:
            self.request({"op": "quit"})
            self._proc.wait(timeout=20)
        except Exception:
            self._proc.kill()
            self._proc.wait()
        finally:
            self._log.close()


class RemoteObject:
    def __init__(self, driver: RemoteBrowser, context_id: str, root: str, chain=()):
        self._driver, self._context_id, self._root, self._chain = (driver, context_id, root,
                                                                   tuple(chain))

    def __getattr__(self, name: str) -> "RemoteObject":
        if name.startswith("_"):
            raise AttributeError(name)
        chain = self._chain + ({"attr": name},)
        if name in VALUES:
            return _decode(self._driver.request({"op": "call", "ctx": self._context_id,
                                                 "root": self._root, "chain": list(chain)}))
        return RemoteObject(self._driver, self._context_id, self._root, chain)

    def __call__(self, *args, **kwargs):
        *head, last = self._chain
        step = {"call": last["attr"], "args": [_encode(a) for a in args],
                "kwargs": {k: _encode(v) for k, v in kwargs.items()}}
        chain = tuple(head) + (step,)
        if last["attr"] in LAZY:
            return RemoteObject(self._driver, self._context_id, self._root, chain)
        result = self._driver.request({"op": "call", "ctx": self._context_id,
                                       "root": self._root, "chain": list(chain)})
        return _decode(result)


def _encode(value):
    if isinstance(value, RemoteObject):
        return {"__chain__": list(value._chain)}
    if isinstance(value, re.Pattern):
        return {"__re__": value.pattern}
    if isinstance(value, (list, tuple)):
        return [_encode(v) for v in value]
    return value


def _decode(value):
    if isinstance(value, dict) and "__response__" in value:
        return SimpleNamespace(**value["__response__"])
    return value
