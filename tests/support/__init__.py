"""Helpers shared by several test modules (importable as ``support``: tests/ is on sys.path).

* :mod:`support.samples`: traffic sample trajectories and the BuzzFeed RNC
  tracks read into the canonical message table;
* :mod:`support.report_sample`: the report tables built from three real flights;
* :mod:`support.web_store`: the DuckDB store the web tests serve;
* :mod:`support.browser`: headless system Chromium through playwright.

The fixtures built on them (``report_sample``, ``web_store``, ``browser``) are
registered in ``tests/conftest.py``.  Nothing here is a test: these modules
hold no ``test_*`` functions and no doctests, so they add nothing to a
collection.
"""
