"""The edge agent's configuration: the shipped example loads; mistakes are refused with a reason."""

from __future__ import annotations

from pathlib import Path

import pytest

from edge_agent.config import AgentConfig
from edge_agent.recorder import quietest_cut
from tests.conftest import REPO

EXAMPLE = REPO / "edge_agent" / "deploy" / "edge.toml"


def test_the_example_config_loads_and_overrides_win():
    config = AgentConfig.load(str(EXAMPLE), {"source": "tone", "segment_s": 60.0})
    assert (config.device_id, config.speakers, config.source, config.segment_s) == (
        "studio-ag06",
        ["host", "guest"],
        "tone",
        60.0,
    )
    assert config.options == {"language": "en", "notes": "true", "priority": "normal"}


@pytest.mark.parametrize(
    "text, reason",
    [
        ('device_id = "../x"', "device_id"),
        ('channel_map = "host"', "channel_map"),
        ("segment_s = 5.0\nquiet_window_s = 5.0", "quiet_window_s"),
        ("upload_chunk_bytes = 1000", "256 KiB"),
        ('colour = "blue"', "unknown settings"),
    ],
)
def test_bad_configs_are_refused(tmp_path: Path, text: str, reason: str):
    path = tmp_path / "edge.toml"
    path.write_text(text + "\n")
    with pytest.raises(ValueError, match=reason):
        AgentConfig.load(str(path))


def test_the_cut_lands_in_the_quiet_part():
    import numpy as np

    rate = 48000
    tail = np.full((rate, 2), 10_000_000, dtype=np.int32)
    tail[int(0.6 * rate) : int(0.65 * rate)] = 0
    cut = quietest_cut(tail, rate)
    assert int(0.6 * rate) <= cut < int(0.65 * rate)
