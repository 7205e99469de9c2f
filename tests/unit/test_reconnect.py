"""A queue consumer that lost the broker tries again every 2 s at most (stafett.resilience):
kombu's own pauses grow to 30 s, so after a whole-broker restart the components came back
long after the broker did (issue 14)."""
from kombu.utils.functional import fxrange

from stafett import resilience  # noqa: F401  (installs)


class FakeConnection:
    def __init__(self):
        self.ensured = None

    def ensure_connection(self, errback, max_retries, **intervals):
        self.ensured = (max_retries, intervals)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False


def test_queue_consumers_reconnect_within_two_seconds():
    from nameko.messaging import QueueConsumer

    connection = FakeConnection()

    class Consumer:
        connect_max_retries = None
        establish_connection = QueueConsumer.establish_connection

        def create_connection(self):
            return connection

        def on_connection_error(self, exc, interval):
            pass

    with Consumer().establish_connection() as made:
        assert made is connection
    max_retries, intervals = connection.ensured
    assert max_retries is None  # forever, as kombu's
    # the pauses kombu sleeps between attempts (as its retry_over_time): none above 2 s
    start, step, most = (intervals["interval_start"], intervals["interval_step"],
                         intervals["interval_max"])
    pauses = fxrange(start, most + start, step, repeatlast=True)
    first = [min(next(pauses), most) for _ in range(20)]
    assert max(first) <= resilience.RECONNECT_INTERVAL_MAX == 2.0
    assert sum(first) < 40  # twenty attempts within 40 s (kombu's own: 20 in ~8 minutes)
