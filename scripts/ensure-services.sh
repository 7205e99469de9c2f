#!/usr/bin/env bash
# Start (and if missing, install) the servers the tests talk to: RabbitMQ with its
# management API (per-test vhosts) and PostgreSQL; and Debian's Chromium for the browser
# tests; Debian's prometheus for the alert rule tests. Idempotent; quiet when all is up.
set -euo pipefail

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
apt_updated=""
apt_install() {
  if [ -z "$apt_updated" ]; then apt-get update -qq; apt_updated=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}
wait_port() {
  for _ in $(seq 1 120); do port_open "$1" && return 0; sleep 0.5; done
  echo "port $1 did not open" >&2; return 1
}

if ! port_open 5672; then
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  echo "starting RabbitMQ"
  rabbitmq-server -detached || true
  wait_port 5672
fi
if ! port_open 15672; then
  echo "enabling the RabbitMQ management plugin"
  rabbitmq-plugins enable rabbitmq_management >/dev/null
  wait_port 15672 || echo "management API not up: tests fall back to rabbitmqctl" >&2
fi

if ! port_open 5432; then
  command -v pg_ctlcluster >/dev/null || apt_install postgresql
  echo "starting PostgreSQL"
  pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start
  wait_port 5432
fi

# Debian's prometheus: promtool checks and unit-tests the alert rules, and a real
# Prometheus runs against the platform in tests/integration/test_prometheus_live.py.
if ! command -v promtool >/dev/null || ! command -v prometheus >/dev/null; then
  echo "installing Debian's prometheus (promtool) for the alert rule tests"
  apt_install --no-install-recommends prometheus || echo "could not install prometheus: the rule tests will fail" >&2
fi

# make cluster / make faults put Debian's HAProxy in front of the gateways and broker nodes
if ! command -v haproxy >/dev/null; then
  echo "installing Debian's haproxy for make cluster"
  apt_install haproxy || echo "could not install haproxy: make cluster will fail" >&2
fi

# The web client's browser tests (tests/browser) drive Debian's Chromium; never a browser
# download. If it cannot be installed the other tests still run, and those fail, loudly.
if [ ! -x /usr/bin/chromium ]; then
  echo "installing Debian's chromium for the browser tests"
  apt_install chromium || echo "could not install chromium: tests/browser will fail" >&2
fi

# tests/deploy start every component as the manifests do: as uid 10001, from a virtualenv
# that user can run. This checkout's Python may live where only root can enter (pyenv under
# /root), so the virtualenv is based on Debian's Python 3.11 (kubectl, hadolint and
# kubernetes-validate come with the test dependencies from PyPI; setpriv is util-linux).
if [ ! -x /usr/bin/python3.11 ]; then
  echo "installing Debian's python3.11 for the deployment tests"
  apt_install python3.11 || echo "could not install python3.11: tests/deploy may fail" >&2
fi
