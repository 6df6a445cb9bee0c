"""Where the client finds the API and its key: the environment first, then the file ``mixscribe login`` writes.

``MIXSCRIBE_API_URL`` and ``MIXSCRIBE_API_KEY`` override the file; the file is
``$MIXSCRIBE_CONFIG``, else ``$XDG_CONFIG_HOME/mixscribe/client.toml`` (``~/.config/…``), readable by its
owner only, since it holds a secret.
"""

from __future__ import annotations

import json
import os
import tomllib
from dataclasses import dataclass
from pathlib import Path


class ConfigError(Exception):
    """No usable API address or key."""


@dataclass(frozen=True)
class ClientConfig:
    api_url: str
    api_key: str


def config_path() -> Path:
    if os.environ.get("MIXSCRIBE_CONFIG"):
        return Path(os.environ["MIXSCRIBE_CONFIG"])
    base = Path(os.environ.get("XDG_CONFIG_HOME") or Path.home() / ".config")
    return base / "mixscribe" / "client.toml"


def load() -> ClientConfig:
    stored: dict[str, str] = {}
    path = config_path()
    if path.exists():
        try:
            stored = {k: str(v) for k, v in tomllib.loads(path.read_text(encoding="utf-8")).items()}
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"{path} is not valid TOML ({exc}); run 'mixscribe login' again") from exc
    url = os.environ.get("MIXSCRIBE_API_URL") or stored.get("api_url", "")
    key = os.environ.get("MIXSCRIBE_API_KEY") or stored.get("api_key", "")
    if not url or not key:
        raise ConfigError("not logged in: run 'mixscribe login' (or set MIXSCRIBE_API_URL and MIXSCRIBE_API_KEY)")
    return ClientConfig(url.rstrip("/"), key)


def save(config: ClientConfig) -> Path:
    """Write the file with owner-only permissions (created so, never widened for a moment)."""
    path = config_path()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    text = f"api_url = {json.dumps(config.api_url)}\napi_key = {json.dumps(config.api_key)}\n"  # TOML basic strings
    descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w", encoding="utf-8") as handle:
        handle.write(text)
    os.chmod(path, 0o600)
    return path
