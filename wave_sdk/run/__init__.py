"""One deploy or rollback as a journaled state machine.

Read in this order: :mod:`~wave_sdk.run.plan` (what will happen),
:mod:`~wave_sdk.run.deploy` (the deploy run, one method per step, with
:mod:`~wave_sdk.run.migrate` and :mod:`~wave_sdk.run.failure`) and
:mod:`~wave_sdk.run.rollback` (``wave rollback``), both built on
:mod:`~wave_sdk.run.restore` (back to a release, then verify it);
:mod:`~wave_sdk.run.journal` (the write-ahead records) and :mod:`~wave_sdk.run.recovery`
(finishing runs that died); :mod:`~wave_sdk.run.interrupts` (SIGINT/SIGTERM);
:mod:`~wave_sdk.run.boundary` (every adapter call, its result checked);
:mod:`~wave_sdk.run.context`, :mod:`~wave_sdk.run.approve`, :mod:`~wave_sdk.run.gate`,
:mod:`~wave_sdk.run.database` and :mod:`~wave_sdk.run.report` for the rest.
"""
