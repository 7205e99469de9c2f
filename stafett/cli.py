"""``stafett``: the operator's command (docs/operations.md). JSON out; errors as one JSON
object on stderr with a short ``error`` code and a ``detail`` sentence, exit status 1 (2 for
a command line that does not parse), never a traceback.

    stafett dlq list                               dead-letter queues and their depth
    stafett dlq show QUEUE [--limit N] [filters]   parked events, left where they are
    stafett dlq replay QUEUE [--limit N] [filters] [--dry-run]
        filters: --type GLOB (log.*), --older-than AGE, --newer-than AGE (30s, 15m, 2h, 1d)
    stafett deliveries list [--status S] [--channel C] [--event ID] [--limit N]
    stafett deliveries retry DELIVERY_ID [--dry-run]
    stafett reminders run [--today YYYY-MM-DD]
    stafett audit verify [--service S]             recompute each service's access log
        tree; check every checkpoint (database and witness): signature, both copies equal,
        root; report the first bad position. Exit 1 when anything is wrong.
    stafett keys status                            the national-id keyring and what is left
    stafett keys rotate [--batch-size N] [--pause SECONDS]
                                                   new national-id key, re-seal, retire old

The broker: ``--amqp-uri`` or ``AMQP_URI`` (else the configuration's), whose user, password,
host and vhost every command uses; the management API at ``--management-url`` or
``RABBITMQ_MANAGEMENT_URL``, else the URI's host on port 15672. Deliveries and reminders ask
the notifications service over RPC (``list_deliveries``, ``requeue_delivery``,
``run_reminders``) as the platform's own actor; keys ask the consent service
(``rotate_number_keys``), which holds the keys and the numbers (docs/operations.md, "Key
rotation").
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
import re  # noqa: E402
import sys  # noqa: E402

_AGE = re.compile(r"([0-9]+(?:\.[0-9]+)?)\s*([smhd]?)")
_UNITS = {"": 1, "s": 1, "m": 60, "h": 3600, "d": 86400}
SERVICES = ("consent", "logs", "handover", "notifications")


class Findings(Exception):
    """A result to print on stdout with exit status 1 (``audit verify`` found something)."""

    def __init__(self, result):
        super().__init__("findings")
        self.result = result


class Failure(Exception):
    def __init__(self, code: str, detail: str):
        super().__init__(detail)
        self.code, self.detail = code, detail


def age(text: str) -> float:
    match = _AGE.fullmatch(text.strip().lower())
    if not match:
        raise argparse.ArgumentTypeError(f"{text!r} is no age (30s, 15m, 2h, 1d)")
    return float(match.group(1)) * _UNITS[match.group(2)]


def positive(text: str) -> int:
    if not text.isdigit() or int(text) < 1:
        raise argparse.ArgumentTypeError(f"{text!r} is no positive number")
    return int(text)


def _connection_options(parser, default=None) -> None:
    """On the command and on every action, so they may come before or after it."""
    extra = {} if default is None else {"default": default}
    parser.add_argument("--amqp-uri", help="the broker (default: AMQP_URI, else the "
                        "configuration's)", **extra)
    parser.add_argument("--management-url", help="RabbitMQ's management API (default: "
                        "RABBITMQ_MANAGEMENT_URL, else the URI's host on port 15672)", **extra)
    parser.add_argument("--config", help="the configuration file (default: STAFETT_CONFIG)",
                        **extra)


class _Actions(argparse._SubParsersAction):
    def add_parser(self, name, **kwargs):
        action = super().add_parser(name, **kwargs)
        _connection_options(action, default=argparse.SUPPRESS)
        return action


def parser() -> argparse.ArgumentParser:
    top = argparse.ArgumentParser(prog="stafett", description="Stafett operations")
    top.register("action", "parsers", _Actions)
    _connection_options(top)
    top.set_defaults(config=os.environ.get("STAFETT_CONFIG"))
    commands = top.add_subparsers(dest="command", required=True)

    dlq = commands.add_parser("dlq", help="dead-letter queues")
    dlq.register("action", "parsers", _Actions)
    dlq = dlq.add_subparsers(dest="action", required=True)
    dlq.add_parser("list", help="dead-letter queues and their depth")
    for name, text in (("show", "parked events (left in place)"),
                       ("replay", "move parked events back to their work queue")):
        action = dlq.add_parser(name, help=text)
        action.add_argument("queue", help="the dead-letter queue (<work queue>.dlq)")
        action.add_argument("--limit", type=positive, default=50 if name == "show" else None)
        action.add_argument("--type", help="only events of this type (a glob: log.*)")
        action.add_argument("--older-than", type=age, metavar="AGE")
        action.add_argument("--newer-than", type=age, metavar="AGE")
        if name == "replay":
            action.add_argument("--dry-run", action="store_true",
                                help="say what would move, move nothing")

    deliveries = commands.add_parser("deliveries", help="notification deliveries")
    deliveries.register("action", "parsers", _Actions)
    deliveries = deliveries.add_subparsers(dest="action", required=True)
    listing = deliveries.add_parser("list", help="deliveries, newest change first")
    listing.add_argument("--status", help="queued, sent, delivered, failed-temporary, "
                         "failed-permanent, cancelled")
    listing.add_argument("--channel", choices=["email", "webhook"])
    listing.add_argument("--event", help="an event id")
    listing.add_argument("--limit", type=positive, default=100)
    retry = deliveries.add_parser("retry", help="send a dead (or cancelled) delivery again")
    retry.add_argument("delivery_id")
    retry.add_argument("--dry-run", action="store_true", help="say what would happen")

    reminders = commands.add_parser("reminders", help="reminders")
    reminders.register("action", "parsers", _Actions)
    reminders = reminders.add_subparsers(dest="action", required=True)
    run = reminders.add_parser("run", help="run the reminder check now")
    run.add_argument("--today", help="YYYY-MM-DD")

    audit = commands.add_parser("audit", help="the access logs").add_subparsers(
        dest="action", required=True)
    verify = audit.add_parser("verify", help="recompute each service's access log and check "
                              "its checkpoints (exit 1 when anything is wrong)")
    verify.add_argument("--service", action="append", choices=SERVICES,
                        help="only this service (repeatable; default: all four)")
    keys = commands.add_parser("keys", help="the national-id keys")
    keys.register("action", "parsers", _Actions)
    keys = keys.add_subparsers(dest="action", required=True)
    keys.add_parser("status", help="the keyring and the rows still under an old key")
    rotate = keys.add_parser("rotate", help="a new key; every row re-sealed in batches "
                             "while the service runs; then the old key retired")
    rotate.add_argument("--batch-size", type=positive, default=500)
    rotate.add_argument("--pause", type=age, default=0.0, metavar="SECONDS",
                        help="between batches, to spare the database (default 0)")
    return top


def configuration(args) -> dict:
    from stafett.config import ConfigError, component_config

    try:
        config = component_config("notifications", args.config)
    except (ConfigError, OSError) as exc:
        raise Failure("configuration", f"cannot read the configuration: {exc}") from None
    from stafett.config import tls_options

    uri = args.amqp_uri or os.environ.get("AMQP_URI") or config["AMQP_URI"]
    try:  # AMQPS as the components have it: AMQP_TLS, AMQP_TLS_CA_FILE, … (docs/security.md)
        ssl = tls_options({**config, "AMQP_URI": uri})
    except ConfigError as exc:
        raise Failure("configuration", str(exc)) from None
    return {**config, "AMQP_URI": uri, "AMQP_SSL": ssl, "MANAGEMENT_URL":
            args.management_url or os.environ.get("RABBITMQ_MANAGEMENT_URL")}


def dead_letters(args) -> object:
    from stafett.dlq import BrokerError, DeadLetters, Filter

    config = configuration(args)
    broker = DeadLetters(config["AMQP_URI"], config["MANAGEMENT_URL"],
                         ssl=config.get("AMQP_SSL"))
    try:
        if args.action == "list":
            return broker.list()
        only = Filter(args.type, args.older_than, args.newer_than)
        if args.action == "show":
            return broker.show(args.queue, args.limit, only)
        return broker.replay(args.queue, args.limit, only, dry_run=args.dry_run)
    except BrokerError as exc:
        raise Failure(exc.code, exc.detail) from None


def notifications(args, call, service="notifications"):
    """``call(proxy)`` against the notifications (or another) service, as the platform's
    own actor."""
    from nameko.exceptions import RpcTimeout, UnknownService
    from nameko.standalone.rpc import ClusterRpcProxy

    from stafett.actor import SYSTEM_ACTOR
    from stafett.errors import StafettError

    config = configuration(args)
    rpc_config = {"AMQP_URI": config["AMQP_URI"]}
    if config.get("AMQP_SSL"):
        rpc_config["AMQP_SSL"] = config["AMQP_SSL"]
    try:
        with ClusterRpcProxy(rpc_config, timeout=15,
                             context_data={"actor": SYSTEM_ACTOR.to_context()}) as rpc:
            return call(getattr(rpc, service))
    except StafettError as exc:
        raise Failure(exc.slug.replace("-", "_"), exc.detail or exc.title) from None
    except (RpcTimeout, UnknownService):
        raise Failure("no_answer", f"the {service} service did not answer (is it "
                      "running?)") from None
    except Exception as exc:
        import amqp.exceptions

        if isinstance(exc, amqp.exceptions.AccessRefused):
            raise Failure("access_refused", "the broker refused the user of the AMQP URI: "
                          "wrong user or password") from None
        if isinstance(exc, amqp.exceptions.NotAllowed):
            raise Failure("no_such_vhost", f"the broker refused the vhost: {exc.reply_text}") \
                from None
        if isinstance(exc, OSError):
            raise Failure("unreachable", f"cannot reach the broker ({type(exc).__name__})") \
                from None
        raise


def deliveries(args):
    if args.action == "list":
        return notifications(args, lambda service: service.list_deliveries(
            status=args.status, event_id=args.event, channel=args.channel, limit=args.limit))
    if not args.dry_run:
        return notifications(args, lambda service: service.requeue_delivery(args.delivery_id))

    def preview(service):
        from stafett.errors import Conflict, NotFound

        for status in ("failed-permanent", "cancelled", None):
            for row in service.list_deliveries(status=status, limit=1000):
                if row["id"] == args.delivery_id:
                    if row["status"] not in ("failed-permanent", "cancelled"):
                        raise Conflict(f"the delivery is {row['status']}",
                                       code="delivery.not_requeueable")
                    return {"dry_run": True, "would_retry": row}
        raise NotFound("no such delivery", code="delivery.not_found")

    return notifications(args, preview)


def reminders(args):
    return notifications(args, lambda service: service.run_reminders(args.today))


def audit_verify(args):
    """Each service's log, from its configuration (database, witness, key): docs/operations.md.
    """
    results = {}
    for service in args.service or SERVICES:
        results[service] = verify_service(args, service)
    result = {"ok": all(r["ok"] for r in results.values()), "services": results}
    if not result["ok"]:
        raise Findings(result)
    return result


def verify_service(args, service: str) -> dict:
    from stafett.config import ConfigError, component_config
    from stafett.transparency import Witness, verify_log, verifying_key, witness_dir

    try:  # never create a key or a database here: a missing one is a finding
        config = component_config(service, args.config, SECRETS_CREATE="false")
    except (ConfigError, OSError) as exc:
        raise Failure("configuration", f"cannot read the configuration: {exc}") from None
    url = str(config["DATABASE_URL"])
    if url.startswith("sqlite:///") and not os.path.exists(url[len("sqlite:///"):]):
        return {"ok": False, "error": "no_database", "detail": f"no database at {url}"}
    try:
        key = verifying_key(config, service)
    except (OSError, ValueError) as exc:
        return {"ok": False, "error": "no_key",
                "detail": f"cannot read the log's key: {type(exc).__name__}: {exc}"}
    from sqlalchemy.exc import SQLAlchemyError

    from stafett.db import make_engine

    engine = make_engine(url)
    try:
        return verify_log(engine, key, Witness(witness_dir(config, service)))
    except SQLAlchemyError as exc:
        return {"ok": False, "error": "database",
                "detail": f"cannot read the access log: {type(exc).__name__}: "
                          f"{str(exc).splitlines()[0][:200]}"}
    finally:
        engine.dispose()


#: a batch that re-sealed nothing while rows are left: another rotation holds them
BUSY_PAUSE, BUSY_TRIES = 0.5, 40


def rotate_keys(args):
    """Begin (or go on with) a rotation, re-seal batch by batch, retire the old keys."""
    def rotation(consent):
        began = consent.rotate_number_keys("begin")
        batches = resealed = idle = 0
        while True:
            step = consent.rotate_number_keys("step", args.batch_size)
            batches += 1
            resealed += step["resealed"]
            if step["remaining"] == 0:
                break
            idle = idle + 1 if step["resealed"] == 0 else 0
            if idle >= BUSY_TRIES:
                raise Failure("busy", f"{step['remaining']} rows are held by another "
                              "rotation; nothing re-sealed for a while")
            if idle or args.pause:
                eventlet.sleep(args.pause or BUSY_PAUSE)
        done = consent.rotate_number_keys("retire")
        return {**done, "started": began["started"], "previous": [
            k for k in began["active"] if k != began["current"]], "batches": batches,
            "resealed": resealed}

    return notifications(args, rotation, service="consent")


def run(args):
    if args.command == "audit":
        return audit_verify(args)
    if args.command == "keys":
        if args.action == "status":
            return notifications(args, lambda consent: consent.rotate_number_keys("status"),
                                 service="consent")
        return rotate_keys(args)
    if args.command == "dlq":
        return dead_letters(args)
    if args.command == "deliveries":
        return deliveries(args)
    if args.command == "reminders":
        return reminders(args)
    raise Failure("unknown_command", f"stafett {args.command} {args.action}: no such command")


def main(argv=None) -> int:
    args = parser().parse_args(argv)
    try:
        result = run(args)
    except Findings as findings:
        json.dump(findings.result, sys.stdout, indent=2, ensure_ascii=False, default=str)
        sys.stdout.write("\n")
        return 1
    except Failure as failure:
        json.dump({"error": failure.code, "detail": failure.detail}, sys.stderr,
                  ensure_ascii=False)
        sys.stderr.write("\n")
        return 1
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # never a traceback at an operator; the error's kind and text
        json.dump({"error": "unexpected", "detail": f"{type(exc).__name__}: {exc}"},
                  sys.stderr, ensure_ascii=False)
        sys.stderr.write("\n")
        return 1
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False, default=str)
    sys.stdout.write("\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
