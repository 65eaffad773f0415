"""Exercises of the course's practice notebooks (see helpers.checks)."""
from ..checks import Wrong, exercise, expect_close, expect_equal, expect_function  # noqa: F401

