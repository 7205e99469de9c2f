"""How much does a Stafett nameko RPC round trip cost over a bare AMQP request/reply?

Prints figures; it is not a test. Every row runs in this one process, against the same
broker, under the same eventlet hub, and the rows are interleaved in rounds so broker or
machine drift lands on all of them alike. See bench/README.md for what each row means.

    .venv/bin/python bench/rpc_overhead.py --n 500
"""
import warnings

# eventlet announces its own deprecation on import; it is noise in a figures table
warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()  # before anything imports socket/threading: nameko needs green I/O
import eventlet.hubs  # noqa: E402

import argparse  # noqa: E402
import ipaddress  # noqa: E402
import json  # noqa: E402
import logging  # noqa: E402
import math  # noqa: E402
import os  # noqa: E402
import platform  # noqa: E402
import signal  # noqa: E402
import socket  # noqa: E402
import statistics  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
import urllib.request  # noqa: E402
import uuid  # noqa: E402
from dataclasses import dataclass, field  # noqa: E402
from importlib.metadata import version  # noqa: E402
from typing import Callable  # noqa: E402

import amqp  # noqa: E402
from eventlet.event import Event  # noqa: E402
from kombu.utils.url import parse_url  # noqa: E402
from nameko.containers import ServiceContainer  # noqa: E402
from nameko.extensions import Entrypoint  # noqa: E402
from nameko.rpc import ReplyListener, rpc  # noqa: E402
from nameko.standalone.rpc import ClusterRpcProxy  # noqa: E402
from nameko.testing.services import entrypoint_hook  # noqa: E402
from nameko.testing.utils import get_extension  # noqa: E402

from stafett.config import component_config  # noqa: E402
from stafett.rpc import TimeoutRpcProxy  # noqa: E402
from stafett.service import ServiceBase  # noqa: E402

DEFAULT_URI = "pyamqp://guest:guest@127.0.0.1:5672/"
CALL_TIMEOUT = 5        # seconds one round trip may take before the run is declared broken
ROUNDS = 5              # each row's N calls are split over this many interleaved rounds
MAX_N = 20000           # keeps the run bounded whatever --n says

# Unique per run: two runs on one broker never share (or delete) each other's queues.
RUN_ID = uuid.uuid4().hex[:8]
ECHO = f"bench_echo_{RUN_ID}"
CALLER = f"bench_caller_{RUN_ID}"

# A small JSON document shaped like a log entry reference (its size is printed).
PAYLOAD = {"child_id": "c-5b0f6a1e", "entry": {"kind": "note", "agency": "974760673",
           "tags": ["bti", "level-1"]}, "seq": 42, "consent": True}


# -- the nameko side: the project's own base class and proxy --------------------------------

class EchoService(ServiceBase):
    """ServiceBase gives it /healthz, /readyz, /metrics and the per-worker dependencies
    (RED metrics, call-id logging, actor) that every Stafett service pays for."""
    name = ECHO

    @rpc
    def echo(self, payload):
        return payload


class ClassicEchoService(EchoService):
    """The same service, its request queue a classic one like the raw rows' (QUORUM_QUEUES
    off): the like-for-like row. Production's request queues are quorum queues."""
    name = ECHO + "_classic"


class Direct(Entrypoint):
    """An entrypoint only this script fires, so the caller needs no queue of its own."""


class Caller:
    """Plays the gateway: a worker that calls the echo service through TimeoutRpcProxy."""
    name = CALLER
    echo_target = TimeoutRpcProxy(ECHO)
    echo_target_unconfirmed = TimeoutRpcProxy(ECHO, use_confirms=False)
    echo_classic = TimeoutRpcProxy(ClassicEchoService.name)

    @Direct.decorator
    def call(self, payload):
        return self.echo_target.echo(payload)

    @Direct.decorator
    def call_unconfirmed(self, payload):
        return self.echo_target_unconfirmed.echo(payload)

    @Direct.decorator
    def call_classic(self, payload):
        return self.echo_classic.echo(payload)


def spawn_caller(container: ServiceContainer, method_name: str) -> Callable:
    """Run the caller's entrypoint the way a real one (HTTP, AMQP) does: spawn_worker with
    a result handler. entrypoint_hook does the same plus test bookkeeping (mock patching,
    waiting for teardown), measured as a row of its own."""
    entrypoint = get_extension(container, Entrypoint, method_name=method_name)

    def call(payload):
        done = Event()

        def handle_result(worker_ctx, result, exc_info):
            if exc_info is None:
                done.send(result)
            else:
                done.send_exception(exc_info[1])
            return result, exc_info

        container.spawn_worker(entrypoint, (payload,), {}, handle_result=handle_result)
        return done.wait()

    return call


# -- the raw side: py-amqp, nothing else ----------------------------------------------------

class RawEcho:
    """Request/reply over bare py-amqp, with nameko's message semantics so only the
    framework differs: same JSON envelopes ({"args", "kwargs"} / {"result", "error"}),
    persistent messages on durable queues, the request acked after the reply is published,
    the reply acked by the client, publisher confirms on both publishes or on neither.
    Differences left on purpose: the default exchange instead of the nameko-rpc topic
    exchange, no mandatory flag, no context headers, no per-worker dependency hooks."""

    def __init__(self, params: dict, confirms: bool, quorum: bool = False):
        self.params = params
        self.confirms = confirms
        self.quorum = quorum  # a quorum request queue, as production's (deleted at the end)
        self.request_queue = f"bench-raw-{RUN_ID}-{uuid.uuid4().hex[:6]}"
        self._replies: dict[str, bytes] = {}
        self._stopping = False

    def _connect(self) -> amqp.Connection:
        connection = amqp.Connection(
            host=f"{self.params['hostname']}:{self.params['port'] or 5672}",
            userid=self.params["userid"], password=self.params["password"],
            virtual_host=self.params["virtual_host"] or "/",
            confirm_publish=self.confirms, connect_timeout=CALL_TIMEOUT)
        connection.connect()
        return connection

    def start(self) -> "RawEcho":
        # responder: its own connection, like the echo service's container
        self._server = self._connect()
        server = self._server.channel()
        server.basic_qos(0, 10, False)  # nameko's prefetch is max_workers, 10 by default
        # durable + auto_delete: nameko's rpc queue is durable, but nothing may outlive us
        if self.quorum:  # a quorum queue cannot be auto-delete: stop() deletes it
            server.queue_declare(self.request_queue, durable=True, auto_delete=False,
                                 arguments={"x-queue-type": "quorum"})
        else:
            server.queue_declare(self.request_queue, durable=True, auto_delete=True)
        self._consumer = (server, server.basic_consume(self.request_queue,
                                                       callback=self._respond))
        self._responder = eventlet.spawn(self._serve)

        self._client = self._connect()
        self._channel = self._client.channel()
        self.reply_queue, _, _ = self._channel.queue_declare(
            "", durable=True, exclusive=True, auto_delete=True)
        self._channel.basic_consume(self.reply_queue, callback=self._on_reply)
        return self

    def _serve(self):
        while not self._stopping:
            try:
                self._server.drain_events(timeout=0.2)
            except socket.timeout:
                continue

    def _respond(self, message: amqp.Message):
        request = json.loads(message.body)
        reply = amqp.Message(
            json.dumps({"result": request["args"][0], "error": None}),
            content_type="application/json", delivery_mode=2,
            correlation_id=message.properties["correlation_id"])
        message.channel.basic_publish(reply, exchange="",
                                      routing_key=message.properties["reply_to"])
        message.channel.basic_ack(message.delivery_tag)

    def _on_reply(self, message: amqp.Message):
        self._replies[message.properties["correlation_id"]] = message.body
        message.channel.basic_ack(message.delivery_tag)

    def call(self, payload):
        correlation_id = str(uuid.uuid4())
        request = amqp.Message(
            json.dumps({"args": [payload], "kwargs": {}}),
            content_type="application/json", delivery_mode=2,
            correlation_id=correlation_id, reply_to=self.reply_queue)
        self._channel.basic_publish(request, exchange="", routing_key=self.request_queue)
        while correlation_id not in self._replies:
            self._client.drain_events(timeout=CALL_TIMEOUT)
        return json.loads(self._replies.pop(correlation_id))["result"]

    def stop(self):
        self._stopping = True
        self._responder.wait()
        if self.quorum:
            channel, tag = self._consumer
            channel.basic_cancel(tag)
            channel.queue_delete(self.request_queue)
        for connection in (self._client, self._server):
            connection.close()  # the auto-delete / exclusive queues go with them


# -- measuring ------------------------------------------------------------------------------

@dataclass
class Row:
    label: str
    call: Callable
    samples: list = field(default_factory=list)  # seconds
    cpu: float = 0.0      # this process's CPU seconds over all the row's calls
    sleeps: int = 0       # times the eventlet hub waited in epoll over them

    def stats(self) -> dict:
        ordered = sorted(self.samples)

        def pct(q):  # nearest rank
            return ordered[max(0, math.ceil(q * len(ordered)) - 1)] * 1000

        mean = statistics.fmean(ordered)
        return {"mean": mean * 1000, "p50": pct(.50), "p95": pct(.95), "p99": pct(.99),
                "rate": 1 / mean, "cpu": self.cpu / len(ordered) * 1000,
                "sleeps": self.sleeps / len(ordered)}


class HubSleeps:
    """Counts the eventlet hub's waits in epoll: each is a point where the process gives
    up the CPU until the broker (or the other side) answers. On a loaded machine every one
    costs a wake-up; a round trip that sleeps more often pays more of them."""

    count = 0

    @classmethod
    def install(cls) -> None:
        hub_type = type(eventlet.hubs.get_hub())
        wait = hub_type.wait

        def counted(hub, seconds=None):
            cls.count += 1
            return wait(hub, seconds)
        hub_type.wait = counted


def measure(rows: list[Row], n: int, warmup: int) -> None:
    for row in rows:
        for _ in range(warmup):
            row.call(PAYLOAD)
    chunks = [n // ROUNDS + (1 if i < n % ROUNDS else 0) for i in range(ROUNDS)]
    for round_no, chunk in enumerate(chunks):
        # rotate the order each round so no row always runs first or last
        shift = round_no % len(rows)
        for row in rows[shift:] + rows[:shift]:
            cpu, sleeps = time.process_time(), HubSleeps.count
            for _ in range(chunk):
                started = time.perf_counter()
                result = row.call(PAYLOAD)
                row.samples.append(time.perf_counter() - started)
                if result != PAYLOAD:
                    raise RuntimeError(f"{row.label}: echo returned {result!r}")
            row.cpu += time.process_time() - cpu
            row.sleeps += HubSleeps.count - sleeps


def free_loopback_address() -> str:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return f"127.0.0.1:{probe.getsockname()[1]}"


def require_loopback(host: str) -> None:
    """The bench floods the broker with calls: it only ever talks to this machine."""
    addresses = {info[4][0] for info in socket.getaddrinfo(host, None)}
    if not addresses or not all(ipaddress.ip_address(a).is_loopback for a in addresses):
        raise SystemExit(f"refusing to benchmark a non-loopback broker: {host} -> {addresses}")


def delete_queues(params: dict, names: set) -> None:
    """nameko's rpc queue is durable and its reply queues only expire after 5 min."""
    if not names:
        return
    connection = RawEcho(params, confirms=False)._connect()
    try:
        channel = connection.channel()
        for name in sorted(names):
            channel.queue_delete(name)
    finally:
        connection.close()


def redact(uri: str) -> str:
    params = parse_url(uri)
    return uri.replace(f":{params['password']}@", ":***@") if params.get("password") else uri


#: (row, baseline): the ratios printed last. Publisher confirms on both sides, and the same
#: queue type: classic (the raw rows' kind), then quorum (production's RPC queues); last
#: the project's path against the bare baseline, as issue 19 first measured it
LIKE_FOR_LIKE = [
    ("nameko TimeoutRpcProxy, classic queue", "raw py-amqp, confirms"),
    ("nameko TimeoutRpcProxy (in-service worker)", "raw py-amqp, confirms, quorum queue"),
    ("nameko TimeoutRpcProxy (in-service worker)", "raw py-amqp"),
]


def print_report(rows: list[Row], baseline: Row, baseline_confirms: Row,
                 confirmed: Row, unconfirmed: Row, args, server_version: str) -> None:
    stats = {row.label: row.stats() for row in rows}
    payload_bytes = len(json.dumps({"args": [PAYLOAD], "kwargs": {}}))
    print(f"Stafett RPC overhead: {args.n} sequential round trips per row "
          f"(after {args.warmup} warm-up), interleaved in {ROUNDS} rounds")
    print(f"broker {redact(args.amqp_uri)} (RabbitMQ {server_version}); request body "
          f"{payload_bytes} B JSON")
    print(f"Python {platform.python_version()}, nameko {version('nameko')}, "
          f"py-amqp {version('amqp')}, kombu {version('kombu')}, eventlet {version('eventlet')}")
    print()
    base, base_c = stats[baseline.label], stats[baseline_confirms.label]
    width = max(len(row.label) for row in rows)
    header = (f"{'':{width}}  {'mean':>6} {'p50':>6} {'p95':>6} {'p99':>6}  {'calls/s':>7}"
              f"   {'mean/p50 ÷ raw':>15}   {'÷ raw+confirms':>15}   {'CPU':>5} {'sleeps':>6}")
    print(header)
    print(f"{'':{width}}  {'ms':>6} {'ms':>6} {'ms':>6} {'ms':>6}{'':55}{'ms/call':>7} "
          f"{'/call':>5}")
    print("-" * len(header))
    for row in rows:
        s = stats[row.label]
        ratios = (f"{s['mean'] / base['mean']:6.2f} / {s['p50'] / base['p50']:5.2f}"
                  f"   {s['mean'] / base_c['mean']:6.2f} / {s['p50'] / base_c['p50']:5.2f}")
        print(f"{row.label:{width}}  {s['mean']:6.3f} {s['p50']:6.3f} {s['p95']:6.3f} "
              f"{s['p99']:6.3f}  {s['rate']:7.0f}   {ratios}   {s['cpu']:5.2f} "
              f"{s['sleeps']:6.1f}")
    print("-" * len(header))
    on, off = stats[confirmed.label], stats[unconfirmed.label]
    print(f"publisher confirms (TimeoutRpcProxy, default vs use_confirms=False): "
          f"mean {on['mean']:.3f} vs {off['mean']:.3f} ms = x{on['mean'] / off['mean']:.2f}, "
          f"p50 {on['p50']:.3f} vs {off['p50']:.3f} ms = x{on['p50'] / off['p50']:.2f}; "
          f"confirms cost {on['mean'] - off['mean']:+.3f} ms per call")
    print()
    for row, base_row in LIKE_FOR_LIKE:  # bench/run_all.py reads these lines
        a, b = stats[row]["p50"], stats[base_row]["p50"]
        print(f"ratio p50 | {row} | {base_row} | {a:.3f} | {b:.3f} | {a / b:.3f}")
    print()
    print("How each side runs: one process, eventlet monkey-patched, one hub. Caller and "
          "responder are")
    print("greenlets on that hub in every row (raw: a responder greenlet draining its own "
          "connection;")
    print("nameko: the echo ServiceContainer), so neither side gets a spare CPU core the "
          "other lacks.")
    print("÷ raw = this row / 'raw py-amqp' (no confirms); ÷ raw+confirms = this row / the "
          "raw row with")
    print("confirms on both publishes, which is what nameko does by default (like for like).")
    print("On a shared machine the mean and p99 catch other load; p50 is the steadier figure.")
    print("use_confirms=False affects only the request; the echo service's reply is "
          "always confirmed.")
    print("CPU: this process's CPU time per call (both sides run in it); sleeps: how often "
          "the eventlet")
    print("hub waited in epoll per call (each a wake-up to pay on a busy machine).")


def run(args) -> int:
    params = parse_url(args.amqp_uri)
    HubSleeps.install()
    require_loopback(params["hostname"])

    raw = RawEcho(params, confirms=False).start()
    raw_confirms = RawEcho(params, confirms=True).start()
    raw_quorum = RawEcho(params, confirms=True, quorum=True).start()
    server_version = raw._client.server_properties.get("version", "?")

    web_address = free_loopback_address()
    echo_container = ServiceContainer(EchoService, component_config(
        "consent", AMQP_URI=args.amqp_uri, WEB_SERVER_ADDRESS=web_address))
    classic_container = ServiceContainer(ClassicEchoService, component_config(
        "consent", AMQP_URI=args.amqp_uri, WEB_SERVER_ADDRESS=free_loopback_address(),
        QUORUM_QUEUES="false"))
    caller_container = ServiceContainer(Caller, component_config(
        "gateway", AMQP_URI=args.amqp_uri, WEB_SERVER_ADDRESS=free_loopback_address()))
    standalone = ClusterRpcProxy({"AMQP_URI": args.amqp_uri}, timeout=CALL_TIMEOUT)
    leftovers = {f"rpc-{ECHO}", f"rpc-{ClassicEchoService.name}"}
    try:
        echo_container.start()
        classic_container.start()
        caller_container.start()
        leftovers |= {ext.queue.name for ext in caller_container.extensions
                      if isinstance(ext, ReplyListener)}
        cluster = standalone.start()
        leftovers.add(standalone._reply_listener.queue.name)  # no public accessor in 2.14
        # prove the echo service is the full ServiceBase setup, HTTP probes included
        with urllib.request.urlopen(f"http://{web_address}/healthz", timeout=CALL_TIMEOUT) as r:
            healthz = r.status

        with entrypoint_hook(caller_container, "call", timeout=CALL_TIMEOUT) as hook:
            baseline = Row("raw py-amqp", raw.call)
            baseline_confirms = Row("raw py-amqp, confirms", raw_confirms.call)
            confirmed = Row("nameko TimeoutRpcProxy (in-service worker)", spawn_caller(
                caller_container, "call"))
            unconfirmed = Row("nameko TimeoutRpcProxy, use_confirms=False", spawn_caller(
                caller_container, "call_unconfirmed"))
            rows = [
                baseline,
                baseline_confirms,
                Row("nameko ClusterRpcProxy (standalone)", cluster[ECHO].echo),
                confirmed,
                Row("nameko TimeoutRpcProxy via entrypoint_hook", hook),
                unconfirmed,
                Row("raw py-amqp, confirms, quorum queue", raw_quorum.call),
                Row("nameko TimeoutRpcProxy, classic queue", spawn_caller(
                    caller_container, "call_classic")),
            ]
            # mandatory + no confirms warns on every call; that trade-off is in the README
            warnings.filterwarnings("ignore", message="Mandatory delivery was requested")
            measure(rows, args.n, args.warmup)
    finally:
        standalone.stop()
        caller_container.stop()
        echo_container.stop()
        classic_container.stop()
        raw.stop()
        raw_confirms.stop()
        raw_quorum.stop()
        delete_queues(params, leftovers)

    print_report(rows, baseline, baseline_confirms, confirmed, unconfirmed, args,
                 server_version)
    print(f"(echo service {ECHO}: /healthz {healthz}; its queues were deleted afterwards)")
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=500,
                        help=f"measured round trips per row (1..{MAX_N}, default 500)")
    parser.add_argument("--warmup", type=int, default=50,
                        help="unmeasured round trips per row first (default 50)")
    parser.add_argument("--amqp-uri", default=os.environ.get("AMQP_URI", DEFAULT_URI),
                        help="broker, loopback only (default $AMQP_URI or %(default)s)")
    parser.add_argument("--timeout", type=float, default=120,
                        help="give up after this many seconds overall (default 120)")
    args = parser.parse_args()
    if not 1 <= args.n <= MAX_N or not 0 <= args.warmup <= MAX_N:
        parser.error(f"--n must be 1..{MAX_N} and --warmup 0..{MAX_N}")

    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)

    # Hard guard: if the hub itself is stuck, the soft guard below can never fire.
    def hard_stop(signum, frame):
        sys.stderr.write(f"rpc_overhead: still running after {args.timeout + 15:.0f} s, "
                         f"killed; queues named *{RUN_ID}* may be left on the broker\n")
        os._exit(3)

    signal.signal(signal.SIGALRM, hard_stop)
    signal.alarm(int(args.timeout) + 15)
    try:
        # Soft guard: raises in the main greenlet at its next wait, so cleanup still runs.
        with eventlet.Timeout(args.timeout):
            return run(args)
    except eventlet.Timeout:
        sys.stderr.write(f"rpc_overhead: gave up after {args.timeout:g} s\n")
        return 2
    except (OSError, amqp.exceptions.AMQPError) as exc:
        sys.stderr.write(f"rpc_overhead: broker trouble: {type(exc).__name__}: {exc}\n")
        return 1
    finally:
        signal.alarm(0)


if __name__ == "__main__":
    sys.exit(main())
