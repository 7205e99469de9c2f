"""``make faults``: a bounded workload against ``make cluster``'s platform under each fault.

For each fault in turn: ``FAULT_OPS`` (300) measures are added to one log through HAProxy,
``FAULT_CONCURRENCY`` (4) at a time, each with its own ``Idempotency-Key``; a client retries
with the same key on 502/503/504/409/429, a timeout or a lost connection, for at most
``OP_DEADLINE`` seconds. The fault is injected once a fifth of the operations is answered,
and healed. When the workload ends the checker waits (at most ``SETTLE`` seconds) for every
acknowledged measure's event to reach the notifications service, then compares:

- acknowledged: operations answered 201 (or replayed 200); the workload goes on past
  ``FAULT_OPS`` while the fault lasts, and for at least a fifth of ``FAULT_OPS`` after it
  is healed (never more than twenty times ``FAULT_OPS`` in all);
- lost: acknowledged, but no row in the logs database;
- dup: operations whose measure is in the database more than once (effects), and measures
  with more than one ``log.measure_added`` event handled by notifications (notifications);
- errors: every non-2xx answer the clients saw (before their retry), by status;
  ``conn`` is a refused or reset connection, ``timeout`` a client timeout;
- fault s: how long the fault lasted, from its injection until it was healed (a kill: 0;
  the broker restarted: until every node is up again);
- gap s: the longest time without an acknowledgement from the injection on (the fault's
  own length included);
- recovery s: the longest time without an acknowledgement from the fault healed on: what
  the platform itself takes to come back;
- stuck: operations never acknowledged, events not handled, unpublished outbox rows,
  gateway keys still ``in_progress``, replicas not ready.

Every step is bounded: a fault by its own length and timeouts, the workload by its
operation count and ``OP_DEADLINE`` per operation, the checker by ``SETTLE``.

``python -m stafett.dev.faults [--ops N] [FAULT ...]`` (``--list`` names them).
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import collections  # noqa: E402
import functools  # noqa: E402
import os  # noqa: E402
import signal  # noqa: E402
import sys  # noqa: E402
import threading  # noqa: E402
import time  # noqa: E402
import uuid  # noqa: E402
from contextlib import contextmanager  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from datetime import date, timedelta  # noqa: E402

import requests  # noqa: E402

RETRIED = {409, 429, 502, 503, 504}


# -- the workload ---------------------------------------------------------------------------

@dataclass
class Outcome:
    acked: dict = field(default_factory=dict)          # title -> measure id
    failed: list = field(default_factory=list)         # titles never acknowledged
    errors: collections.Counter = field(default_factory=collections.Counter)
    ack_times: list = field(default_factory=list)


class Workload:
    def __init__(self, base_url: str, token: str, log_id: str, responsible: str, label: str,
                 ops: int, concurrency: int = 4, op_deadline: float = 120,
                 client_timeout: float = 10):
        self.base_url, self.token, self.log_id = base_url, token, log_id
        self.responsible, self.label, self.ops = responsible, label, ops
        self.concurrency, self.op_deadline = concurrency, op_deadline
        self.client_timeout = client_timeout
        self.outcome = Outcome()
        self._next = 0
        self._lock = threading.Lock()
        self.threads: list[threading.Thread] = []
        self.healed = threading.Event()
        self._at_heal = 0

    def body(self, title: str) -> dict:
        today = date.today()
        return {"title": title, "goal": "Tålt feil", "responsible_id": self.responsible,
                "arena": "school", "start_date": today.isoformat(),
                "evaluate_by": (today + timedelta(days=21)).isoformat()}

    def heal(self) -> None:
        """The fault is healed: from here ``after_heal`` more operations at least."""
        with self._lock:
            self._at_heal = self._next
            self.healed.set()

    @property
    def after_heal(self) -> int:
        return max(1, self.ops // 5)

    def _take(self) -> int | None:
        """The next operation: ``ops`` of them; more while the fault lasts, so a slow fault
        never strikes an idle platform; and at least ``after_heal`` once it is healed, to
        see the platform recover. Never more than ``20 * ops`` in all."""
        with self._lock:
            n = self._next
            if n >= self.ops * 20 or (self.healed.is_set() and n >= self.ops
                                      and n >= self._at_heal + self.after_heal):
                return None
            self._next += 1
            return self._next

    def _one(self, session: requests.Session, n: int) -> None:
        title = f"{self.label} #{n}"
        key = f"{self.label}-{n}-{uuid.uuid4().hex[:8]}"
        headers = {"Authorization": f"Bearer {self.token}", "Idempotency-Key": key}
        url = f"{self.base_url}/api/v1/logs/{self.log_id}/measures"
        deadline = time.monotonic() + self.op_deadline
        while time.monotonic() < deadline:
            try:
                response = session.post(url, json=self.body(title), headers=headers,
                                        timeout=self.client_timeout)
            except requests.Timeout:
                self._error("timeout")
                continue
            except requests.ConnectionError:
                self._error("conn")
                time.sleep(0.5)
                continue
            if response.status_code in (200, 201):
                with self._lock:
                    self.outcome.acked[title] = response.json()["id"]
                    self.outcome.ack_times.append(time.monotonic())
                return
            self._error(str(response.status_code))
            if response.status_code not in RETRIED or response.headers.get(
                    "Idempotent-Replayed") or (response.status_code == 409 and
                                               "still running" not in response.text):
                break  # a final answer (a replayed one too): retrying changes nothing
            wait = response.headers.get("Retry-After")
            time.sleep(min(2.0, float(wait)) if wait and wait.isdigit() else 0.5)
        with self._lock:
            self.outcome.failed.append(title)

    def _error(self, what: str) -> None:
        with self._lock:
            self.outcome.errors[what] += 1

    def _worker(self) -> None:
        with requests.Session() as session:
            while (n := self._take()) is not None:
                self._one(session, n)

    def start(self) -> None:
        self.threads = [threading.Thread(target=self._worker, daemon=True)
                        for _ in range(self.concurrency)]
        for thread in self.threads:
            thread.start()

    def join(self, timeout: float) -> bool:
        deadline = time.monotonic() + timeout
        for thread in self.threads:
            thread.join(max(0.0, deadline - time.monotonic()))
        return not any(t.is_alive() for t in self.threads)

    def answered(self) -> int:
        with self._lock:
            return len(self.outcome.acked) + len(self.outcome.failed)


# -- the checker ----------------------------------------------------------------------------

def _query(url: str, sql: str, **params) -> list:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    try:
        with engine.connect() as connection:
            return list(connection.execute(text(sql), params))
    finally:
        engine.dispose()


@dataclass
class Check:
    acked: int
    lost: int
    dup_effects: int
    dup_notifications: int
    not_notified: int
    never_acked: int
    unpublished: int
    in_progress: int
    notes: list = field(default_factory=list)

    def stuck(self) -> list[str]:
        found = list(self.notes)
        if self.never_acked:
            found.append(f"{self.never_acked} ops unanswered")
        if self.not_notified:
            found.append(f"{self.not_notified} events unhandled")
        if self.unpublished:
            found.append(f"{self.unpublished} outbox rows")
        if self.in_progress:
            found.append(f"{self.in_progress} keys in_progress")
        return found


def measures_by_title(database_urls, log_id: str, label: str) -> collections.Counter:
    rows = _query(database_urls["logs"], "SELECT title FROM measures WHERE log_id = :log "
                  "AND title LIKE :label", log=log_id, label=f"{label} #%")
    return collections.Counter(row[0] for row in rows)


def events_by_measure(database_urls) -> dict[str, list[str]]:
    import json

    rows = _query(database_urls["logs"], "SELECT event_id, payload FROM outbox "
                  "WHERE type = 'log.measure_added'")
    found = collections.defaultdict(list)
    for event_id, payload in rows:
        payload = json.loads(payload) if isinstance(payload, str) else payload
        measure = (payload.get("data") or {}).get("measure_id")
        found[measure].append(event_id)
    return found


def handled_events(database_urls) -> set[str]:
    rows = _query(database_urls["notifications"], "SELECT event_id FROM inbox "
                  "WHERE consumer LIKE 'notifications.%'")
    return {row[0] for row in rows}


def check(database_urls, log_id: str, label: str, outcome: Outcome,
          settle: float = 60) -> Check:
    acked = outcome.acked
    deadline = time.monotonic() + settle
    while True:  # the events of acknowledged measures reach notifications
        events = events_by_measure(database_urls)
        handled = handled_events(database_urls)
        waiting = [m for m in acked.values() if not any(e in handled for e in events.get(m, []))]
        if not waiting or time.monotonic() > deadline:
            break
        time.sleep(1)
    counts = measures_by_title(database_urls, log_id, label)
    ids = {row[0]: row[1] for row in _query(
        database_urls["logs"], "SELECT id, title FROM measures WHERE log_id = :log "
        "AND title LIKE :label", log=log_id, label=f"{label} #%")}
    dup_notifications = sum(1 for measure in ids
                            if sum(e in handled for e in events.get(measure, [])) > 1)
    unpublished = sum(_query(url, "SELECT count(*) FROM outbox WHERE published_at IS NULL")[0][0]
                      for name, url in database_urls.items() if name != "gateway")
    in_progress = _query(database_urls["gateway"], "SELECT count(*) FROM idempotency_keys "
                         "WHERE state = 'in_progress'")[0][0]
    return Check(acked=len(acked), lost=sum(1 for t in acked if counts[t] == 0),
                 dup_effects=sum(1 for n in counts.values() if n > 1),
                 dup_notifications=dup_notifications, not_notified=len(waiting),
                 never_acked=len(outcome.failed), unpublished=unpublished,
                 in_progress=in_progress)


# -- faults ---------------------------------------------------------------------------------

class Faults:
    """Each fault: ``inject`` returns after healing it (or starting its healing)."""

    def __init__(self, platform, rpc_timeout: float = 5, say=None):
        self.platform, self.rpc_timeout = platform, rpc_timeout
        #: moments a fault marks while it lasts (e.g. the broker serving again), each
        #: said with the first acknowledgement after it
        self.marks: dict[str, float] = {}
        self._say = say or (lambda text: print(f"  {text}", file=sys.stderr, flush=True))

    @property
    def components(self):
        return self.platform.components

    def names(self) -> list[str]:
        names = [f"kill9:{r}" for r in ("consent-1", "logs-1", "handover-1",
                                         "notifications-1", "gateway-1")]
        names += ["sigstop:logs-1", "sigterm:logs-1"]
        if getattr(self.platform, "rabbit", None) and len(self.platform.rabbit.nodes) > 1:
            names += ["rabbit-stop:leader", "rabbit-stop:follower", "rabbit-restart"]
        names += ["tcp-reset", "pg-terminate", "pg-refuse:logs"]
        return names

    def run(self, name: str) -> None:
        kind, _, target = name.partition(":")
        getattr(self, kind.replace("-", "_"))(target)

    def _signal(self, replica: str, sig) -> None:
        os.killpg(self.components.process(replica).pid, sig)

    def kill9(self, replica: str) -> None:
        self._signal(replica, signal.SIGKILL)

    def sigterm(self, replica: str) -> None:
        self._signal(replica, signal.SIGTERM)

    def sigstop(self, replica: str) -> None:
        """Paused past the RPC timeout: its callers give up (503) while it holds requests."""
        self._signal(replica, signal.SIGSTOP)
        try:
            time.sleep(self.rpc_timeout + 3)
        finally:
            self._signal(replica, signal.SIGCONT)

    def rabbit_stop(self, which: str) -> None:
        rabbit = self.platform.rabbit
        leader = rabbit.leader_of("rpc-logs")
        if which == "leader":
            node = rabbit.node(leader)
        else:
            node = next(n for n in rabbit.nodes if n.name != leader)
        node.stop()
        time.sleep(10)
        node.start()
        node.await_startup()

    def rabbit_restart(self, _=None) -> None:
        """Every node stopped, c3 first, then started again, the last one stopped (c1)
        first. Started together, RabbitMQ 3.10's nodes may crash syncing feature flags
        (``incompatible_feature_flags``, badmap): one at a time they do not."""
        from stafett.dev.cluster import port_open, wait_until

        rabbit = self.platform.rabbit
        began = time.monotonic()
        for node in reversed(rabbit.nodes):
            node.stop()
            self._say(f"{node.name} stopped at +{time.monotonic() - began:.1f} s")
        for i, node in enumerate(rabbit.nodes):
            node.start()
            wait_until(lambda: port_open(node.amqp_port), 180, f"{node.node} to listen",
                       interval=0.2)
            self._say(f"{node.name} listening at +{time.monotonic() - began:.1f} s")
            if i == len(rabbit.nodes) // 2:  # a majority again: the quorum queues serve
                self.marks["a majority of the nodes listening"] = time.monotonic()
            node.await_startup(timeout=180)
            self._say(f"{node.name} started at +{time.monotonic() - began:.1f} s")

    def tcp_reset(self, _=None, seconds: float = 15, every: float = 3) -> None:
        """Every ``every`` s for ``seconds``, HAProxy drops every connection between the
        components and the broker (``shutdown sessions``): each side sees its TCP
        connection end mid-conversation."""
        haproxy = self.platform.haproxy
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            for i in range(len(haproxy.broker_ports)):
                haproxy.command(f"shutdown sessions server brokers/rabbit{i + 1}")
            time.sleep(every)

    def _server_sql(self, sql: str) -> None:
        from sqlalchemy import create_engine, text

        from stafett.dev.cluster import POSTGRES
        engine = create_engine(POSTGRES + "postgres", isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(sql))
        finally:
            engine.dispose()

    def _databases(self, only: str | None = None) -> list[str]:
        urls = self.platform.database_urls
        return [url.rsplit("/", 1)[1] for name, url in urls.items()
                if only is None or name == only]

    def _terminate(self, names) -> None:
        listed = ", ".join(f"'{n}'" for n in names)
        self._server_sql("SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                         f"WHERE datname IN ({listed}) AND pid <> pg_backend_pid()")

    def pg_terminate(self, _=None, seconds: float = 10, every: float = 2) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            self._terminate(self._databases())
            time.sleep(every)

    def pg_refuse(self, component: str, seconds: float = 60) -> None:
        (name,) = self._databases(component)
        self._server_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS false')
        try:
            self._terminate([name])
            time.sleep(seconds)
        finally:
            self._server_sql(f'ALTER DATABASE "{name}" ALLOW_CONNECTIONS true')


# -- one run --------------------------------------------------------------------------------

@dataclass
class Row:
    fault: str
    check: Check
    errors: collections.Counter
    recovery: float      # from the fault healed: the longest stretch without an ack
    lasted: float = 0.0  # the fault itself: injected until healed
    gap: float = 0.0     # from the fault injected: the longest stretch without an ack

    def cells(self) -> list[str]:
        errors = " ".join(f"{k}:{v}" for k, v in sorted(self.errors.items())) or "-"
        return [self.fault, str(self.check.acked), str(self.check.lost),
                f"{self.check.dup_effects}/{self.check.dup_notifications}", errors,
                f"{self.lasted:.1f}", f"{self.gap:.1f}", f"{self.recovery:.1f}",
                "; ".join(self.check.stuck()) or "-"]


HEADER = ["fault", "acked", "lost", "dup (effects/notif.)", "client errors", "fault s",
          "gap s", "recovery s", "stuck"]


def longest_gap(start: float, ack_times) -> float:
    """The longest stretch without an acknowledgement from ``start`` on (infinite: none
    came after it)."""
    points = [start] + sorted(t for t in ack_times if t >= start)
    return max((b - a for a, b in zip(points, points[1:])), default=float("inf"))


def table(rows: list[Row]) -> str:
    lines = [HEADER] + [row.cells() for row in rows]
    widths = [max(len(line[i]) for line in lines) for i in range(len(HEADER))]
    out = ["| " + " | ".join(c.ljust(w) for c, w in zip(line, widths)) + " |" for line in lines]
    out.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(out)


def run_fault(platform, faults: Faults, target: dict, name: str, ops: int,
              concurrency: int = 4, op_deadline: float = 120, settle: float = 60,
              say=functools.partial(print, flush=True)) -> Row:
    began = time.monotonic()
    label = f"{name} {uuid.uuid4().hex[:6]}"
    workload = Workload(platform.url, target["token"], target["log_id"], target["responsible"],
                        label, ops, concurrency, op_deadline)
    workload.start()
    start = time.monotonic()
    while workload.answered() < max(1, ops // 5) and time.monotonic() - start < 60:
        time.sleep(0.1)
    injected = time.monotonic()
    faults.marks.clear()
    try:
        if name != "none":
            faults.run(name)
    finally:
        healed = time.monotonic()
        workload.heal()
    workload.join(op_deadline + ops * 2)
    times = workload.outcome.ack_times
    for mark, at in faults.marks.items():
        after = [t - at for t in times if t >= at]
        faults._say(f"first acknowledgement {min(after):.1f} s after {mark}" if after
                    else f"no acknowledgement after {mark}")
    result = check(platform.database_urls, target["log_id"], label, workload.outcome, settle)
    not_ready = [r.name for r in platform.components.list
                 if not _ready_within(platform.components, r.name, 30)]
    if not_ready:
        result.notes.append(f"not ready: {', '.join(not_ready)}")
    row = Row(name, result, workload.outcome.errors, longest_gap(healed, times),
              lasted=healed - injected, gap=longest_gap(injected, times))
    say(" | ".join(row.cells()) + f"  ({time.monotonic() - began:.0f} s)")
    return row


def _ready_within(components, name: str, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if components.ready(name):
            return True
        time.sleep(0.5)
    return False


def prepare_target(url: str, var_dir) -> dict:
    """A log of the demo's Emma, opened by the teacher, to add measures to."""
    from stafett.dev.demo import AGENCIES, EMMA, PERSONAS
    from stafett.dev.issuer import dev_issuer_url, mint

    def token(persona):
        claims = {k: v for k, v in PERSONAS[persona].items() if k != "description"}
        kind = claims.pop("issuer_kind")
        return mint(var_dir, claims, ttl_seconds=6 * 3600, issuer=dev_issuer_url(kind))

    guardian, teacher = token("guardian"), token("teacher")

    def call(method, path, tok, **kwargs):
        return requests.request(method, url + path, headers={"Authorization": f"Bearer {tok}"},
                                timeout=30, **kwargs)

    children = call("GET", "/api/v1/children", guardian).json()["items"]
    emma = next(c["id"] for c in children if c["name"] == EMMA["name"])
    call("POST", f"/api/v1/children/{emma}/consents", guardian, json={
        "scope": {"agencies": [AGENCIES["school"]["org_number"]]}, "purpose": "Samarbeid"})
    for _ in range(5):  # the consent's event may be projected at this very moment: again
        response = call("POST", "/api/v1/logs", teacher, json={"child_id": emma, "level": 1})
        if response.status_code < 500:
            break
        time.sleep(1)
    logs = [response.json()] if response.status_code == 201 else [
        call("GET", f"/api/v1/logs/{item['id']}", teacher).json()
        for item in call("GET", "/api/v1/logs", teacher).json()["items"]]
    for log in logs:  # the demo's stories may have opened Emma's already: one the teacher
        holders = [p["id"] for p in log.get("participants", [])  # may add measures to
                   if p["role"] == "stafettholder"]
        if not holders:
            continue
        target = {"token": teacher, "log_id": log["id"], "responsible": holders[0]}
        probe = Workload(url, teacher, log["id"], holders[0], "probe", 1).body("probe")
        if call("POST", f"/api/v1/logs/{log['id']}/measures", teacher,
                json=probe).status_code == 201:
            return target
    raise RuntimeError(f"no log to add measures to: {response.status_code} {response.text}")


class Keeper(threading.Thread):
    """Runs the supervisor while the faults run: what dies is started again."""

    def __init__(self, components):
        super().__init__(daemon=True)
        self.components, self.stopping = components, threading.Event()

    def run(self):
        while not self.stopping.is_set():
            try:
                self.components.check()
            except Exception as exc:  # keep supervising
                print(f"supervisor: {exc}", file=sys.stderr)
            self.stopping.wait(0.3)


@contextmanager
def running(platform):
    """The platform started, a ``Keeper`` starting again what dies, and the target (its log,
    tokens) prepared; then stopped, whatever happened meanwhile."""
    keeper = None
    try:
        platform.start()
        keeper = Keeper(platform.components)
        keeper.start()
        yield prepare_target(platform.url, platform.folder)
    finally:
        if keeper:
            keeper.stopping.set()
        platform.stop()


def main(argv=None) -> int:
    from stafett.config import ROOT
    from stafett.dev.cluster import Platform

    parser = argparse.ArgumentParser(prog="python -m stafett.dev.faults")
    parser.add_argument("--ops", type=int, default=int(os.environ.get("FAULT_OPS", 300)))
    parser.add_argument("--concurrency", type=int,
                        default=int(os.environ.get("FAULT_CONCURRENCY", 4)))
    parser.add_argument("--list", action="store_true")
    parser.add_argument("faults", nargs="*")
    args = parser.parse_args(argv)
    os.chdir(ROOT)
    signal.signal(signal.SIGTERM, signal.default_int_handler)
    # every fault's operations go to one log: room for all of them; the demo's persons
    # and agencies, not its stories (the workload opens the one log it needs)
    platform = Platform(extra_env={"LOG_MAX_MEASURES": "100000"}, stories=False)
    faults = Faults(platform)
    if args.list:
        print("\n".join(faults.names()))
        return 0
    rows: list[Row] = []
    failed: list[str] = []
    began = time.monotonic()
    try:
        with running(platform) as target:
            names = args.faults or ["none"] + faults.names()
            print(f"{args.ops} operations per fault, {args.concurrency} at a time", flush=True)
            for name in names:
                try:
                    rows.append(run_fault(platform, faults, target, name, args.ops,
                                          args.concurrency))
                except Exception as exc:  # the fault itself failed: said, and the rest run
                    print(f"{name}: the fault could not run: {type(exc).__name__}: {exc}")
                    failed.append(name)
    except KeyboardInterrupt:
        print("\nStopper ...")
    finally:
        if rows:
            print()
            print(table(rows))
        if failed:
            print(f"not run to the end: {', '.join(failed)}")
        print(f"{len(rows)} faults in {(time.monotonic() - began) / 60:.1f} min")
    bad = [r for r in rows if r.check.lost or r.check.dup_effects or r.check.dup_notifications]
    return 1 if bad or failed or not rows else 0


if __name__ == "__main__":
    sys.exit(main())
