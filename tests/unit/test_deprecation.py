"""Agora's own deprecations are errors under the test suite; others' are not.

The filters come from ``[tool.pytest.ini_options] filterwarnings`` in
pyproject.toml: these tests fail if the ``error::`` entry goes or an entry
after it silences Agora's warning again.
"""

from __future__ import annotations

import warnings

import pytest

from agora.deprecation import AgoraDeprecationWarning, deprecated


@deprecated("use area()", since="0.9")
def old_area(width: int, height: int) -> int:
    """A deprecated function that still computes."""
    return width * height


def test_calling_a_deprecated_function_fails_the_test() -> None:
    with pytest.raises(AgoraDeprecationWarning, match=r"old_area is deprecated since Agora 0.9"):
        old_area(2, 3)


def test_the_warning_names_the_caller_and_the_function_still_works() -> None:
    with pytest.warns(AgoraDeprecationWarning, match="use area()") as caught:
        assert old_area(2, 3) == 6
    assert caught[0].filename == __file__  # stacklevel: the line to change is the caller's
    assert old_area.__name__ == "old_area" and old_area.__doc__ == (
        "A deprecated function that still computes."
    )


def test_third_party_deprecations_stay_warnings() -> None:
    with warnings.catch_warnings(record=True) as caught:
        # The suite's filters, not "always": a plain DeprecationWarning is ignored.
        warnings.warn("a library's old API", DeprecationWarning, stacklevel=1)
    assert caught == []
