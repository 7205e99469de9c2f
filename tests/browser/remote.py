"""Playwright in a process of its own, driven over a pipe by the (eventlet) test process.

Run as a script (``python tests/browser/remote.py``), so that nothing here imports eventlet:
Playwright's sync API switches greenlets of its own, and eventlet re-parents any greenlet
that blocks cooperatively to its hub (``eventlet.hubs.hub.BaseHub.switch``), which strands
Playwright's dispatcher and hangs the test. Here Playwright runs as it was made to.

Protocol: one JSON object per line on stdin, one answer per line on stdout.

    {"op": "new_context", "id": "c1", "options": {...}}
    {"op": "call", "ctx": "c1", "root": "page" | "context", "chain": [step, ...]}
        step: {"attr": name} | {"call": name, "args": [...], "kwargs": {...}}
        an argument {"__chain__": [...]} is a locator on the same page, {"__re__": "..."} a regex
    {"op": "axe", "ctx": "c1", "tags": [...]}  →  the violations
    {"op": "close_context", "id": "c1"}; {"op": "quit"}

Answers: {"ok": value} or {"error": "TypeName", "message": "..."}.
"""
from __future__ import annotations

import json
import re
import sys
import traceback


def main() -> int:
    from playwright.sync_api import sync_playwright

    executable, args = sys.argv[1], json.loads(sys.argv[2])
    out = sys.stdout
    sys.stdout = sys.stderr  # nothing but answers on the pipe
    contexts: dict[str, tuple] = {}
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=executable, args=args,
                                             headless=True)
        answer(out, {"ok": browser.version})
        for line in sys.stdin:
            request = json.loads(line)
            try:
                op = request["op"]
                if op == "quit":
                    answer(out, {"ok": None})
                    break
                if op == "new_context":
                    options = dict(request.get("options") or {})
                    timeout = options.pop("default_timeout", 15_000)
                    context = browser.new_context(**options)
                    context.set_default_timeout(timeout)
                    contexts[request["id"]] = (context, context.new_page())
                    result = None
                elif op == "close_context":
                    context, _ = contexts.pop(request["id"])
                    context.close()
                    result = None
                elif op == "axe":
                    result = run_axe(contexts[request["ctx"]][1], request["tags"])
                elif op == "call":
                    context, page = contexts[request["ctx"]]
                    root = page if request["root"] == "page" else context
                    result = encode(resolve(root, request["chain"], page))
                else:
                    raise ValueError(f"unknown op {op!r}")
                answer(out, {"ok": result})
            except Exception as exc:  # the test process raises it
                answer(out, {"error": type(exc).__name__, "message": str(exc),
                             "trace": traceback.format_exc(limit=3)})
        browser.close()
    return 0


def answer(out, payload: dict) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def resolve(root, chain: list, page):
    value = root
    for step in chain:
        if "attr" in step:
            value = getattr(value, step["attr"])
        else:
            args = [decode(a, page) for a in step.get("args", [])]
            kwargs = {k: decode(v, page) for k, v in step.get("kwargs", {}).items()}
            value = getattr(value, step["call"])(*args, **kwargs)
    return value


def decode(value, page):
    if isinstance(value, dict) and "__chain__" in value:
        return resolve(page, value["__chain__"], page)
    if isinstance(value, dict) and "__re__" in value:
        return re.compile(value["__re__"])
    if isinstance(value, list):
        return [decode(v, page) for v in value]
    return value


def encode(value):
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    if isinstance(value, (list, tuple)):
        return [encode(v) for v in value]
    if isinstance(value, dict):
        return {str(k): encode(v) for k, v in value.items()}
    if type(value).__name__ == "Response":
        return {"__response__": {"status": value.status, "url": value.url}}
    return {"__object__": type(value).__name__}


def run_axe(page, tags: list[str]) -> list[dict]:
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page, options={"runOnly": {"type": "tag", "values": tags},
                                       "resultTypes": ["violations"]})
    return [{"id": v["id"], "impact": v.get("impact"), "help": v["help"],
             "targets": [str(n["target"]) for n in v["nodes"][:5]]}
            for v in results.response["violations"]]


if __name__ == "__main__":
    sys.exit(main())
