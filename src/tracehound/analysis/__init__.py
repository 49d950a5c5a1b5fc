"""Seed 000's log analysis: ``LogAnalyzer``, ``analyze_session()``, ``debug_issue()``.

A session is read from the seed-000 files (a ``trace/`` directory, also one copied from
another machine) or from the database; both give the same answers. See ``docs/analysis.md``.
"""

from ._analyzer import LogAnalyzer
from ._report import Report, analyze_session, debug_issue, parse_description
from ._source import FileSource, RecordSource, StoreSource, open_source

__all__ = [
    "FileSource",
    "LogAnalyzer",
    "RecordSource",
    "Report",
    "StoreSource",
    "analyze_session",
    "debug_issue",
    "open_source",
    "parse_description",
]
