"""The alert rules against the running platform: a real Prometheus (Debian's binary, on
loopback, scraping every two seconds) scrapes the five components with the shipped rules
(``for:`` shortened to 2 s, tests.support.prometheus.rules_with_short_for). The consent
service is stopped: StafettComponentDown{component="consent"} goes pending, then firing,
seen through Prometheus's HTTP API; it is started again on the same port and the alert
clears. The components run in this process (tests.support.platform): stopping one container
closes its listener exactly as a dead process would for the scrape, and starting it again
takes seconds instead of a new interpreter's start."""
from tests.support.platform import COMPONENTS, wait_for
from tests.support.prometheus import Prometheus


def test_an_alert_fires_when_a_service_stops_and_clears_when_it_returns(platform, tmp_path):
    prometheus = Prometheus(tmp_path, {c: f"127.0.0.1:{platform.ports[c]}" for c in COMPONENTS})
    prometheus.start()
    try:
        try:
            wait_for(lambda: set(prometheus.targets_up().values()) == {"up"}
                     and len(prometheus.targets_up()) == len(COMPONENTS), timeout=60,
                     interval=0.5, message="every component scraped")
        except AssertionError as timed_out:
            raise AssertionError(f"{timed_out}: {prometheus.target_errors()}") from None
        # the platform's own series reach Prometheus (the rules have something to read)
        wait_for(lambda: prometheus.query('stafett_timer_interval_seconds{timer="outbox_relay"}'),
                 timeout=20, interval=0.5, message="heartbeats scraped")
        # evaluated before the first scrapes, the rule saw no target: wait for it to settle
        wait_for(lambda: prometheus.alerts("StafettComponentDown") == [], timeout=20,
                 interval=0.25, message="no component down while all run")

        platform.stop("consent")
        pending = wait_for(lambda: prometheus.alerts("StafettComponentDown"), timeout=30,
                           interval=0.25, message="StafettComponentDown pending")
        assert [a["labels"]["component"] for a in pending] == ["consent"]
        assert pending[0]["state"] in ("pending", "firing")
        assert pending[0]["labels"]["severity"] == "page"
        assert pending[0]["annotations"]["runbook_url"] == \
            "docs/runbooks/StafettComponentDown.md"
        firing = wait_for(lambda: [a for a in prometheus.alerts("StafettComponentDown")
                                   if a["state"] == "firing"], timeout=30, interval=0.25,
                          message="StafettComponentDown firing")
        assert [a["labels"]["component"] for a in firing] == ["consent"]

        platform.start(["consent"])
        wait_for(lambda: prometheus.alerts("StafettComponentDown") == [], timeout=30,
                 interval=0.25, message="StafettComponentDown cleared")
        assert prometheus.targets_up()["consent"] == "up"
    finally:
        prometheus.stop()
