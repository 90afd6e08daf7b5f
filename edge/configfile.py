"""Loading TOML config files into pydantic models, with errors that name the file, the key
and the reason (``station.toml: store.path: directory /nope does not exist``)."""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator

from edge.mqtturl import parse_broker_url

M = TypeVar("M", bound=BaseModel)


class ConfigError(ValueError):
    """A config file that cannot be used. The message is what a technician reads."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        super().__init__(f"{file}: {key}: {reason}" if key else f"{file}: {reason}")


class Section(BaseModel):
    """Base of every config section: unknown keys are errors, values are frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def load(path: Path | str, model: type[M], overrides: dict[str, Any] | None = None) -> M:
    """Read ``path`` and validate it as ``model``. Relative paths inside the file are
    resolved by the model against ``context['base_dir']`` (the file's folder)."""
    p = Path(path)
    name = p.name
    try:
        raw = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(str(p), "", "file not found") from None
    except OSError as e:
        raise ConfigError(str(p), "", f"cannot read ({e.strerror})") from None
    except UnicodeDecodeError:
        raise ConfigError(name, "", "not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(name, "", f"not valid TOML ({e})") from None
    if overrides:
        raw = {**raw, **overrides}
    return validate(raw, model, name, p.parent.resolve())


def validate(raw: dict[str, Any], model: type[M], name: str, base_dir: Path) -> M:
    try:
        return model.model_validate(raw, context={"base_dir": base_dir})
    except ValidationError as e:
        err = e.errors()[0]
        key = ".".join(str(x) for x in err["loc"])
        msg = err["msg"]
        if err["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
        raise ConfigError(name, key, msg) from None


def resolve_path(value: str | Path, info: Any) -> Path:
    """Resolve a path from a config file against the file's folder."""
    p = Path(value).expanduser()
    base = (info.context or {}).get("base_dir") if info is not None else None
    if not p.is_absolute() and base is not None:
        p = Path(base) / p
    return p


class BrokerSection(Section):
    """How to reach the MQTT broker."""

    url: str = Field("mqtt://127.0.0.1:1883", description="mqtt://host:port or mqtts://host:port")
    username: str | None = Field(None, description="per-node or station user name")
    password_file: Path | None = Field(
        None, description="file holding the password (never the password itself)"
    )
    ca_file: Path | None = Field(None, description="CA bundle for mqtts://")
    cert_file: Path | None = Field(None, description="client certificate for mqtts://")
    key_file: Path | None = Field(None, description="client key for mqtts://")
    mqtt5: bool = Field(False, description="use MQTT 5 (only for brokers that offer it)")
    topic_prefix: str = Field("bluewatch/v1", description="topic prefix shared by all parts")

    @field_validator("url")
    @classmethod
    def _url(cls, v: str) -> str:
        parse_broker_url(v)
        return v

    @field_validator("password_file", "ca_file", "cert_file", "key_file", mode="before")
    @classmethod
    def _files(cls, v: str | None, info: ValidationInfo) -> Path | None:
        if v is None:
            return None
        p = resolve_path(v, info)
        if not p.is_file():
            raise ValueError(f"file {p} does not exist")
        return p

    def password(self) -> str | None:
        if self.password_file is None:
            return None
        return self.password_file.read_text(encoding="utf-8").strip()
