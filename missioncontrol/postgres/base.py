"""Django's Postgres backend with a health check that sends nothing to the server.

``CONN_HEALTH_CHECKS`` makes Django test a kept connection before the first query of each
request; the stock test is a ``SELECT 1``, one round trip on every request that touches the
database, for an answer that is almost always "fine". This backend asks the socket
instead: an idle connection has nothing to read unless the server has spoken first, and on
a connection of ours (no ``LISTEN``) it only speaks unprompted to end it (a restart, a
terminated backend, an idle-session timeout), when it sends its farewell and closes.
So a kept connection is used again only when libpq knows it as open, idle outside any
transaction, and the socket has nothing waiting; otherwise it is closed and the request
opens a new one, as after a failed ``SELECT 1``.

What the ``SELECT 1`` sees and this does not: a peer that vanished without closing (a host
that lost power, a network that dropped the connection's state). Then the request's own
first query fails where the ``SELECT 1`` would have failed (or hung) instead.
``DB_HEALTH_CHECK=query`` in the environment selects Django's stock backend for deployments
that prefer the round trip (docs/configuration.md).
"""

from __future__ import annotations

import select

import psycopg
from django.db.backends.postgresql import base
from psycopg import pq


class DatabaseWrapper(base.DatabaseWrapper):
    # Set by Django per connection and per request (BaseDatabaseWrapper); the stubs omit them.
    health_check_enabled: bool
    health_check_done: bool

    def close_if_health_check_failed(self) -> None:
        # Django's conditions (base.BaseDatabaseWrapper), with the socket in place of SELECT 1.
        if self.pool or self.connection is None or not self.health_check_enabled or self.health_check_done:
            return
        if not self.is_quiet():
            self.close()
        self.health_check_done = True

    def is_quiet(self) -> bool:
        """True when the kept connection is open, idle and the server has sent nothing since."""
        if self.connection is None:
            return False
        pgconn = self.connection.pgconn
        if pgconn.status != pq.ConnStatus.OK or pgconn.transaction_status != pq.TransactionStatus.IDLE:
            return False
        try:
            poller = select.poll()
            poller.register(pgconn.socket, select.POLLIN | select.POLLPRI)
            return not poller.poll(0)
        except (OSError, ValueError, psycopg.Error):  # libpq has no socket for it any more
            return False
