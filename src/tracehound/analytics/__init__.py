"""Execution analytics over the store (seed 003's ``ExecutionAnalytics``, seed 002's summary)."""

from ._analytics import ExecutionAnalytics
from ._records import ExecutionRecord, Record, StageLog

__all__ = ["ExecutionAnalytics", "ExecutionRecord", "Record", "StageLog"]
