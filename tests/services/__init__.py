"""Real servers for the test suite, each started on a free 127.0.0.1 port in a temp dir.

Every class has ``start()``/``stop()`` and works as a context manager. Binaries are found by
:func:`tests.services.binaries.find_binary`; a missing one raises ``RuntimeError`` telling you to
run ``scripts/install-test-deps`` (tests never skip for a missing server).

PostgreSQL is started elsewhere (it needs initdb and database setup).
"""
