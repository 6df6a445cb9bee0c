"""The Google Cloud clients as every deployable builds them (no call is made: building them connects nowhere)."""

from __future__ import annotations

from typing import Any

import pytest

from edge_agent.agent import event_sink
from edge_agent.config import AgentConfig
from mixscribe.events import PubSubEventSink
from mixscribe.gcp import publisher_client


def test_publishers_send_each_message_at_once(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every publish is awaited before the next, so a batch never holds two messages: the publishers of
    the functions, the jobs and the edge agent send at once instead of waiting 10 ms for company."""
    monkeypatch.setenv("PUBSUB_EMULATOR_HOST", "127.0.0.1:9")  # an insecure channel, opened lazily
    assert publisher_client().batch_settings.max_messages == 1
    sink = event_sink(AgentConfig(source="file.wav", bucket="b", project="p", events_topic="events"))
    assert isinstance(sink, PubSubEventSink)
    client: Any = sink._publisher  # the client behind the Publisher port
    assert client.batch_settings.max_messages == 1
