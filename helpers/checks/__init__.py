"""Automatic checks for the course's exercises.

Each exercise is registered once with a checking function and a reference solution. A learner
calls ``check(name, answer)`` and reads "passed" or what is wrong; an instructor calls
``reveal(name)`` to print the reference solution; the tests run every solution through its check.
"""
from __future__ import annotations

import contextlib
import inspect
import math
import textwrap
from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["check", "reveal", "solution", "for_notebook", "EXERCISES", "Exercise", "exercise", "Wrong", "as_number", "call", "expect_close", "expect_equal", "expect_function", "refusing"]


class Wrong(Exception):
    """Raised by a checking function with a message that tells the learner what is wrong."""


@dataclass
class Exercise:
    name: str
    notebook: str
    prompt: str
    checker: Callable[[object], None]  # raises Wrong when the answer is not right
    solution: Callable[[], object]  # returns the reference answer (a number or a function)
    wrong_example: Callable[[], object] | None = None  # a typical mistake, which the checker must reject


EXERCISES: dict[str, Exercise] = {}


def exercise(name: str, notebook: str, prompt: str, checker, wrong_example=None):
    """Decorator: register the decorated function as the reference solution of an exercise."""
    def register(solution):
        if name in EXERCISES:
            raise ValueError(f"exercise {name!r} registered twice")
        EXERCISES[name] = Exercise(name, notebook, prompt, checker, solution, wrong_example)
        return solution
    return register


def _register_all() -> None:
    """Import every module of exercise definitions (importing one registers its exercises)."""
    from . import accuracy, pitfalls, practice, study, theory, transformers  # noqa: F401


def _get(name: str) -> Exercise:
    _register_all()

    if name not in EXERCISES:
        raise ValueError(f"no exercise named {name!r}; known: {', '.join(sorted(EXERCISES))}")
    return EXERCISES[name]


def check(name: str, answer, quiet: bool = False) -> bool:
    """Check a learner's answer; print 'passed' or what is wrong, and return True/False."""
    ex = _get(name)
    if answer is None or answer is Ellipsis:
        if not quiet:
            print(f"[{name}] not answered yet: replace the ... with your answer")
        return False
    try:
        ex.checker(answer)
    except Wrong as why:
        if not quiet:
            print(f"[{name}] not yet: {why}")
        return False
    if not quiet:
        print(f"[{name}] passed")
    return True


def reveal(name: str) -> None:
    """Print the reference solution of an exercise (for instructors, or after trying)."""
    ex = _get(name)
    # a solution made for one case of several (a closure) shows the values it was made with
    for var, value in inspect.getclosurevars(ex.solution).nonlocals.items():
        print(f"{var} = {value!r}")
    print(textwrap.dedent(inspect.getsource(ex.solution)))


def solution(name: str):
    """The reference answer of an exercise."""
    return _get(name).solution()


def for_notebook(notebook: str) -> list[str]:
    """Names of the exercises of ``notebook`` (e.g. "10_the_cost_of_overpruning"), in course order."""
    _register_all()
    return [n for n, ex in EXERCISES.items() if ex.notebook == notebook]


# ---- building blocks for checking functions ----------------------------------------------------
def as_number(answer, what: str) -> float:
    """``answer`` as a float; Wrong if it is not a number or is NaN."""
    try:
        value = float(answer)
    except (TypeError, ValueError):
        raise Wrong(f"{what} should be a number, got {answer!r}") from None
    if math.isnan(value):
        raise Wrong(f"{what} is NaN")
    return value


def call(fn, what: str, *args, label: str | None = None):
    """Call a learner's function ``what`` on ``args``; its exceptions become hints (Wrong) rather
    than tracebacks, naming the call as ``label`` (default ``what``)."""
    if not callable(fn):
        raise Wrong(f"{what} should be a function, got {type(fn).__name__}")
    try:
        return fn(*args)
    except NotImplementedError:
        raise Wrong(f"{what} is not written yet (it raises NotImplementedError)") from None
    except Wrong:  # a hint raised while it ran (e.g. by ``refusing``): pass it on as it is
        raise
    except Exception as err:  # a learner's bug: show it as a hint, not a traceback
        raise Wrong(f"{label or what} raised {type(err).__name__}: {err}") from None


@contextlib.contextmanager
def refusing(*targets):
    """While the block runs, each ``(module, name)`` of the course's own helpers raises Wrong when called:
    an exercise that asks for the Torch-Pruning code must not be passed by the helper that wraps it."""
    saved = [(module, name, getattr(module, name)) for module, name in targets]

    def refuse(module, name):
        def refused(*args, **kwargs):
            raise Wrong(f"{module.__name__}.{name} is the course's helper for this: write it with Torch-Pruning's "
                        "own calls, as the exercise asks")
        return refused

    for module, name, _ in saved:
        setattr(module, name, refuse(module, name))
    try:
        yield
    finally:
        for module, name, original in saved:
            setattr(module, name, original)


def expect_close(got, expected: float, tol: float, what: str) -> None:
    """Raise Wrong unless ``got`` is a number within ``tol`` of ``expected``."""
    value = as_number(got, what)
    if abs(value - expected) > tol:
        raise Wrong(f"{what} = {value:.4g} is off by more than {tol:g}")


def expect_equal(got, expected, what: str) -> None:
    """Raise Wrong unless ``got == expected``."""
    if got != expected:
        raise Wrong(f"{what} = {got!r} is not right")


def expect_function(fn, cases: list[tuple[tuple, object]], what: str, tol: float | None = None) -> None:
    """Call ``fn`` on each case's arguments and compare with the expected value."""
    if not callable(fn):
        raise Wrong(f"{what} should be a function, got {type(fn).__name__}")
    for args, expected in cases:
        got = call(fn, what, *args, label=f"{what}{args}")
        if tol is None:
            if got != expected:
                raise Wrong(f"{what}{args} returned {got!r}, expected a different value")
        else:
            expect_close(got, expected, tol, f"{what}{args}")
