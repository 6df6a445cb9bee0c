"""One declaration of the settings: typed, read from the environment in one place, documented in README."""

from __future__ import annotations

import re

import pytest

from mixscribe.config import Settings, markdown_table
from tests.conftest import REPO

DEPLOYED_CODE = ("mixscribe", "functions", "jobs", "beam_pipelines", "edge_agent")
READERS = ("mixscribe/config.py", "edge_agent/config.py")  # the system's settings; the edge agent's own


def test_values_are_typed_and_errors_name_the_variable_not_the_value():
    settings = Settings.from_env(
        {
            "MIXSCRIBE_MODEL_REGISTRY": "cloud",
            "GOOGLE_CLOUD_PROJECT": "p",
            "MIXSCRIBE_SHARD_OVERLAP_S": "2.5",
            "CLOUD_RUN_TASK_INDEX": "3",
        }
    )
    assert (settings.models().name, settings.models().default_for("batch"), settings.project) == ("cloud", "small", "p")
    assert (settings.shard_overlap_s, settings.task_index) == (2.5, 3)
    with pytest.raises(ValueError, match="MIXSCRIBE_IDLE_TIMEOUT_S") as bad_int:
        Settings.from_env({"MIXSCRIBE_IDLE_TIMEOUT_S": "soon", "MIXSCRIBE_LLM_API_KEY": "sk-not-echoed"})
    assert "sk-not-echoed" not in str(bad_int.value)
    with pytest.raises(ValueError, match="MIXSCRIBE_BATCH_DEBOUNCE_S must be below MIXSCRIBE_IDLE_TIMEOUT_S"):
        Settings.from_env({"MIXSCRIBE_DISPATCH_DEBOUNCE_S": "40", "MIXSCRIBE_LLM_API_KEY": "sk-not-echoed"})


def test_constructed_settings_ignore_the_environment(monkeypatch):
    monkeypatch.setenv("MIXSCRIBE_BEAM_SIZE", "1")
    assert Settings().beam_size == 5 and Settings.from_env().beam_size == 1


def test_to_env_reproduces_the_settings():
    settings = Settings(
        project="x",
        model_registry="cloud",
        allow_private_networks=("10.0.0.0/8",),
        shard_overlap_s=0.5,
        launcher="cloudrun",
    )
    assert Settings.from_env(settings.to_env()) == settings
    assert set(settings.to_env()) == {
        "GOOGLE_CLOUD_PROJECT",
        "MIXSCRIBE_MODEL_REGISTRY",
        "MIXSCRIBE_ALLOW_PRIVATE_NETWORKS",
        "MIXSCRIBE_SHARD_OVERLAP_S",
        "MIXSCRIBE_LAUNCHER",
    }
    assert Settings.from_env(Settings().to_env(everything=True)) == Settings()


def test_no_deployed_module_reads_the_environment_itself():
    readers = []
    for folder in DEPLOYED_CODE:
        for path in (REPO / folder).rglob("*.py"):
            if str(path.relative_to(REPO)) in READERS or "__pycache__" in path.parts:
                continue
            if re.search(r"os\.environ|os\.getenv|getenv\(", path.read_text()):
                readers.append(str(path.relative_to(REPO)))
    assert readers == []


def test_readme_documents_every_setting_as_declared():
    readme = (REPO / "README.md").read_text()
    documented = readme.split("<!-- settings-table:start -->\n", 1)[1].split("\n<!-- settings-table:end -->", 1)[0]
    assert documented == markdown_table()
