"""The webhook post: one attempt, a timeout, the URL never in a message."""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from audit.receiver import receiver
from recon.audit.notify import MAX_LISTED, message, post
from recon.audit.thresholds import Breach
from recon.errors import ReconError

SECRET = "/services/T1/B1/verys3cr3t"


def test_a_refused_post_is_not_retried_and_the_error_names_the_variable_only() -> None:
    with receiver() as box:
        box.status = 500
        with pytest.raises(ReconError) as caught:
            post(box.url + SECRET, "x", timeout=5, env_name="HOOK")
        assert len(box.requests) == 1
    assert str(caught.value) == "the webhook in $HOOK answered HTTP 500"


def test_a_slow_webhook_times_out_after_one_attempt() -> None:
    with receiver() as box:
        box.delay = 3.0
        started = time.perf_counter()
        with pytest.raises(ReconError) as caught:
            post(box.url + SECRET, "x", timeout=0.5, env_name="HOOK")
        took = time.perf_counter() - started
        assert len(box.requests) == 1
    assert took < 2.5
    assert "ReadTimeout" in str(caught.value) and "s3cr3t" not in str(caught.value)


def test_an_unreachable_webhook_is_one_line_without_the_url() -> None:
    with pytest.raises(ReconError) as caught:
        post("http://127.0.0.1:9" + SECRET, "x", timeout=2, env_name="HOOK")
    assert "s3cr3t" not in str(caught.value) and "127.0.0.1" not in str(caught.value)


def test_the_message_lists_at_most_ten_breaches_and_the_report() -> None:
    breaches = [Breach(f"kind_{i}", 5 + i, 2, "C9", source="idp", target="slack") for i in range(12)]
    text = message("C9", breaches, Path("/data/report.html"), ["idp -> github"])
    lines = text.splitlines()
    assert lines[0] == "recon audit C9: 12 thresholds exceeded"
    assert lines[1] == "- kind_0 5 > limit 2 (+3) for idp -> slack at cycle C9"
    assert len([line for line in lines if line.startswith("- kind_")]) == MAX_LISTED
    assert "- and 2 more" in lines
    assert "not audited (not clean): idp -> github" in lines
    assert lines[-1] == "report: /data/report.html"


@pytest.mark.parametrize("url", ["hooks.example/s3cr3t", "ftp://hooks.example/s3cr3t", "http://[s3cr3t"])
def test_a_malformed_webhook_url_is_reported_without_repeating_it(url: str) -> None:
    with pytest.raises(ReconError) as caught:
        post(url, "x", timeout=2, env_name="HOOK")
    assert str(caught.value).startswith("the webhook in $HOOK could not be reached (")
    assert "s3cr3t" not in str(caught.value)
