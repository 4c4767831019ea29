"""One exception family whose messages are written for the user, not the developer."""

from __future__ import annotations


class ParamtuiError(Exception):
    """Base of every error paramtui reports to a user. The message is one clear paragraph."""

    exit_code = 1


class UnusableInput(ParamtuiError):
    """The input cannot be read: missing, corrupt, truncated, unsupported or hostile."""

    exit_code = 2


class UnsafePickle(UnusableInput):
    """Reading the file would need running code from it, and the user did not allow that."""


class TensorNotFound(ParamtuiError):
    """A tensor name that the checkpoint does not hold."""

    exit_code = 2


class SaveRefused(ParamtuiError):
    """A save that cannot be done as asked; the message names what and the lossless way out."""

    exit_code = 2


class EditRefused(ParamtuiError):
    """An edit that cannot be applied as asked; the message says why and what to do."""

    exit_code = 2
