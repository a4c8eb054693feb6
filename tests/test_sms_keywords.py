import pytest

from domain.sms_keywords import is_opt_out


@pytest.mark.parametrize(
    "body", ["STOP", "stop", " Stop. ", "STOPALL", "unsubscribe!", "Cancel", "end", "QUIT", "optout"]
)
def test_opt_out_replies(body):
    assert is_opt_out(body)


@pytest.mark.parametrize("body", ["", None, "stop please", "don't stop", "STOP IT", "Hello", "START", "stopp"])
def test_other_replies(body):
    assert not is_opt_out(body)
