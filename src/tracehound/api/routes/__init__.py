"""The server's routers: seed 002's ``/execution-logs``, the ``/v1`` read API, ingest."""
