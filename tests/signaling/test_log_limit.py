"""Repeated bad input is logged once per kind and interval, with a count of what was held back."""

from __future__ import annotations

import asyncio
import json
import logging

from signaling import session
from signaling.log_limit import RepeatLimitedLog
from tests.conftest import wait_until


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_one_line_per_kind_and_interval_then_a_count_of_the_rest(caplog):
    clock = Clock()
    limited = RepeatLimitedLog(logging.getLogger("test.limit"), interval_s=60, clock=clock)
    with caplog.at_level(logging.INFO, "test.limit"):
        assert limited.info("bad_json", "bad %s", "json")
        for _ in range(500):
            assert not limited.info("bad_json", "bad %s", "json")
        assert limited.info("bad_sdp", "bad sdp")  # another kind has its own budget
        clock.now += 61
        assert limited.info("bad_json", "bad %s", "json")
    lines = [r.getMessage() for r in caplog.records]
    assert lines == ["bad json", "bad sdp", "bad json (and 500 more like it in the last 60 s, not logged)"]


async def test_a_flood_of_malformed_messages_logs_one_line_not_one_per_message(sfu_server, clients, caplog,
                                                                                   monkeypatch):
    monkeypatch.setattr(session, "bad_input_log", RepeatLimitedLog(session.log, interval_s=0.5))
    flooder = await clients(sfu_server.ws_url)
    with caplog.at_level(logging.INFO, "signaling.session"):
        for i in range(30):  # within the rate limit: every one is parsed and refused
            await flooder.send_raw(json.dumps({"type": "ice", "room": "r", "pc": "sideways", "request_id": i}))
        await wait_until(lambda: len(flooder.errors) == 30, "30 error replies")
        await flooder.send_raw("{not json")
        await wait_until(lambda: len(flooder.errors) == 31, "the 31st error reply")
        flood = [r.getMessage() for r in caplog.records if r.name == "signaling.session"]
        await asyncio.sleep(0.6)
        await flooder.send_raw(json.dumps({"type": "ice", "room": "r", "pc": "sideways"}))
        await wait_until(lambda: len(flooder.errors) == 32, "the 32nd error reply")
    assert [e["request_id"] for e in flooder.errors[:30]] == list(range(30))
    assert len(flood) == 2, flood  # 30 bad_message: one line; the bad_json: a line of its own
    after = [r.getMessage() for r in caplog.records if r.name == "signaling.session"]
    assert len(after) == 3 and "(and 29 more like it in the last 0.5 s, not logged)" in after[-1], after
