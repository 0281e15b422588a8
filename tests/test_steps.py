"""How a long step shows its progress on stderr (shopclerk/steps.py)."""

from __future__ import annotations

import pytest

from shopclerk.steps import StepLine, step


def test_without_a_terminal_a_step_stays_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    with step("embedding new and changed products and FAQ entries") as progress:
        for done in range(1, 1001):
            progress(done, 1000)
    captured = capsys.readouterr()
    assert captured.out == ""
    [line] = captured.err.splitlines()
    assert line.startswith(
        "embedding new and changed products and FAQ entries ... 25% 50% 75% 100% done ("
    )


def test_a_step_that_jumps_ahead_marks_every_quarter_once(
    capsys: pytest.CaptureFixture[str],
) -> None:
    line = StepLine("embedding", terminal=False)
    for done, total in [(10, 143), (138, 143), (143, 143)]:
        line.progress(done, total)
    assert capsys.readouterr().err == " 25% 50% 75% 100%"


def test_on_a_terminal_the_line_is_rewritten_in_place(capsys: pytest.CaptureFixture[str]) -> None:
    line = StepLine("embedding", terminal=True)
    line.start()
    line.progress(128, 611)
    line.progress(611, 611)
    line.end("done (9.4 s)")
    err = capsys.readouterr().err
    assert err.split("\r") == [
        "embedding ...",
        "embedding ... 128 of 611 texts",
        "embedding ... 611 of 611 texts done (9.4 s)\n",
    ]


def test_a_failed_step_says_so_on_its_line(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(OSError, match="disk full"), step("importing"):
        raise OSError("disk full")
    assert capsys.readouterr().err == "importing ... failed\n"
