"""/health and /metrics while every journal commit fails (a full disk): failing, not "journal_ok"."""

from __future__ import annotations

from typing import Any

from gateway.model import Reading
from tests.unit.test_journal import on_journal_thread


def test_health_says_the_journal_fails_while_its_commits_fail(client: Any, village: dict[str, Any]) -> None:
    journal = village["journal"]
    pages = on_journal_thread(journal, "PRAGMA page_count")
    on_journal_thread(journal, f"PRAGMA max_page_count = {pages}")  # SQLITE_FULL, as on a full card
    for i in range(2000):
        journal.append(Reading.make("meter", {"site": "s", "device": f"m{i % 5}"}, {"power_w": float(i)},
                                    time_ns=1_780_000_000_000_000_000 + i))
    assert journal.commit() == 0
    response = client.get("/health")
    assert response.status_code == 503
    assert response.get_json()["journal_ok"] is False
    assert response.get_json()["status"] == "failing"
    assert "gateway_journal_write_failing 1" in client.get("/metrics").get_data(as_text=True)
    on_journal_thread(journal, "PRAGMA max_page_count = 1000000")  # space again
    assert journal.commit() >= 2000  # and what the app published meanwhile
    assert client.get("/health").get_json()["journal_ok"] is True
    assert "gateway_journal_write_failing 0" in client.get("/metrics").get_data(as_text=True)
