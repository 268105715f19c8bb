"""The mirkit exception hierarchy.

Library code raises these and never prints or exits; the CLI maps them to one line on
stderr and an exit code. Messages repeat the offending value and say what to do.

``InputError`` concerns one input (a file, a row, an item): a batch records it and goes on
(exit code 1 at the end). ``ParameterError`` and ``ModelError`` concern the invocation as a
whole (a bad option, an unknown or unloadable model): the run stops with exit code 2.
"""

from __future__ import annotations


class MirkitError(Exception):
    """Root of every error mirkit raises on purpose."""

    #: Exit code the CLI uses when this error ends a run.
    exit_code: int = 1


class InputError(MirkitError, ValueError):
    """A bad input: missing, unreadable, corrupt or of the wrong kind."""

    exit_code = 1


class OutputExistsError(InputError):
    """An output file exists and neither ``--overwrite`` nor ``--skip-existing`` was given."""


class ParameterError(MirkitError, ValueError):
    """A bad option or argument value (usage error)."""

    exit_code = 2


class ModelError(MirkitError):
    """A model that is unknown, missing or cannot be loaded."""

    exit_code = 2
