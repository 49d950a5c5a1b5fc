"""The non-blocking pipeline: queue, worker, conversion, redaction, spool, exporters."""

from ._channel import Channel
from ._exporter import Exporter
from ._processor import BatchProcessor
from ._redact import Redactor
from ._spool import Spool

__all__ = ["BatchProcessor", "Channel", "Exporter", "Redactor", "Spool"]
