"""Run one component: ``python -m stafett.run consent``.

It exits 0 after SIGTERM or Ctrl-C (a clean stop), and non-zero if its container dies, so
a supervisor starts it again.

eventlet must patch the standard library before anything imports sockets, so this module
patches first and imports the rest afterwards.
"""
import warnings

warnings.filterwarnings("ignore", message=r"\s*Eventlet is deprecated")

import eventlet  # noqa: E402

eventlet.monkey_patch()

import argparse  # noqa: E402
import importlib  # noqa: E402
import os  # noqa: E402
import sys  # noqa: E402

#: the exit status of a component whose container died
EXIT_DIED = 1

COMPONENTS = {
    "gateway": "gateway.service:GatewayService",
    "consent": "services.consent.service:ConsentService",
    "logs": "services.logs.service:LogsService",
    "handover": "services.handover.service:HandoverService",
    "notifications": "services.notifications.service:NotificationsService",
}


def service_class(component: str):
    module_name, class_name = COMPONENTS[component].split(":")
    return getattr(importlib.import_module(module_name), class_name)


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description="Run one Stafett component")
    parser.add_argument("component", choices=sorted(COMPONENTS))
    parser.add_argument("--config", default=os.environ.get("STAFETT_CONFIG"))
    args = parser.parse_args(argv)

    from nameko.cli.run import run

    from stafett import logging as json_logging
    from stafett.config import component_config

    config = component_config(args.component, args.config)
    json_logging.configure(args.component, str(config.get("LOG_LEVEL", "INFO")))
    try:
        run([service_class(args.component)], config)
    except Exception:
        # the container died (an error no extension survived): exit non-zero, so the
        # supervisor (Kubernetes, make run's) starts the component again
        import logging

        logging.getLogger("stafett.run").critical("%s died", args.component, exc_info=True)
        sys.exit(EXIT_DIED)


if __name__ == "__main__":
    main()
