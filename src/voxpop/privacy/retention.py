"""Retention: responses older than the workspace's setting are anonymised by a background worker."""

from __future__ import annotations


def retention_worker(db, settings):
    """The background thread that applies the retention setting (filled in by the privacy work)."""
    raise NotImplementedError
