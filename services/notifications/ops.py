"""Operations on deliveries, over RPC with the platform's own actor.

    python -m services.notifications.ops dead [--limit N]     # failed-permanent deliveries
    python -m services.notifications.ops list [--status S] [--event ID] [--channel C]
    python -m services.notifications.ops requeue DELIVERY_ID  # send a dead one again
    python -m services.notifications.ops reminders [--today YYYY-MM-DD]

Prints JSON. Output carries ids, statuses and error codes only.
"""
from __future__ import annotations

import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import argparse  # noqa: E402
import json  # noqa: E402
import sys  # noqa: E402


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description="Stafett notification deliveries")
    commands = parser.add_subparsers(dest="command", required=True)
    dead = commands.add_parser("dead")
    dead.add_argument("--limit", type=int, default=100)
    listing = commands.add_parser("list")
    listing.add_argument("--status")
    listing.add_argument("--event")
    listing.add_argument("--channel")
    listing.add_argument("--limit", type=int, default=100)
    requeue = commands.add_parser("requeue")
    requeue.add_argument("delivery_id")
    reminders = commands.add_parser("reminders")
    reminders.add_argument("--today")
    args = parser.parse_args(argv)

    import eventlet

    eventlet.monkey_patch()
    from nameko.standalone.rpc import ClusterRpcProxy

    from stafett.actor import SYSTEM_ACTOR
    from stafett.config import component_config

    config = component_config("notifications")
    with ClusterRpcProxy({"AMQP_URI": config["AMQP_URI"], "AMQP_SSL": config.get("AMQP_SSL")},
                         timeout=30,
                         context_data={"actor": SYSTEM_ACTOR.to_context()}) as rpc:
        if args.command == "dead":
            result = rpc.notifications.list_deliveries(status="failed-permanent",
                                                       limit=args.limit)
        elif args.command == "list":
            result = rpc.notifications.list_deliveries(status=args.status, event_id=args.event,
                                                       channel=args.channel, limit=args.limit)
        elif args.command == "requeue":
            result = rpc.notifications.requeue_delivery(args.delivery_id)
        else:
            result = rpc.notifications.run_reminders(args.today)
    json.dump(result, sys.stdout, indent=2, ensure_ascii=False)
    print()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
