"""Configuration: `config.yaml`, every key overridable by a `PUNCHAUDIT_<KEY>` environment variable.

Nested keys join with a double underscore: `presence.late_grace_minutes` is
`PUNCHAUDIT_PRESENCE__LATE_GRACE_MINUTES`. A bad value fails at start-up with the key named, not
later with a stack trace in the middle of an ingest.
"""
from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict, YamlConfigSettingsSource

CONFIG_ENV = "PUNCHAUDIT_CONFIG"
DEFAULT_CONFIG = Path(__file__).resolve().parent.parent / "config.yaml"


class ConfigError(ValueError):
    """A configuration value is missing or invalid; the message names the key."""


class _Section(BaseModel):
    model_config = {"extra": "forbid"}


class IngestConfig(_Section):
    max_body_bytes: int = Field(10 * 1024 * 1024, gt=0)
    default_timezone: str = "Asia/Shanghai"
    min_year: int = 2000
    future_tolerance_minutes: int = Field(10, ge=0)
    realtime_skew_minutes: int = Field(60, ge=1)
    require_device_token: bool = False
    device_cache_seconds: float = Field(2.0, ge=0)


class ZktecoConfig(_Section):
    delay_seconds: int = Field(10, ge=2, le=60)
    error_delay_seconds: int = Field(30, ge=30, le=300)
    trans_interval_minutes: int = 1
    trans_times: str = "00:00;14:05"
    realtime: bool = True
    timezone_hours: int = 8


class PresenceConfig(_Section):
    methods: list[str] = ["face", "fingerprint"]
    early_window_minutes: int = Field(30, ge=0)
    late_grace_minutes: int = Field(10, ge=0)
    late_limit_minutes: int = Field(30, ge=0)
    checkout_required: bool = False
    checkout_window_minutes: int = Field(15, ge=0)
    day_rule: Literal["all", "any"] = "all"
    coverage_threshold: float = Field(1.0, gt=0, le=1)
    min_session_coverage: float = Field(0.0, ge=0, le=1)


class FacesConfig(_Section):
    tolerance: float = Field(0.5, gt=0, lt=1)
    review_upper: float = Field(0.6, gt=0, lt=1)
    replay_distance: float = Field(0.1, ge=0)
    min_face_px: int = Field(80, ge=20)
    detect_max_width: int = Field(640, ge=160)
    workers: int = Field(2, ge=1)
    model: str = "dlib_face_recognition_resnet_model_v1"
    fast_detect_width: int = Field(320, ge=160)
    background: bool = True
    poll_seconds: float = Field(5.0, gt=0)
    batch_size: int = Field(64, ge=1)
    max_tasks_per_child: int = Field(500, ge=1)
    job_lease_minutes: int = Field(30, ge=1)
    punch_match_seconds: int = Field(120, ge=0)
    video_tolerance: float = Field(0.6, gt=0, lt=1)
    video_step_seconds: float = Field(2.0, gt=0)
    video_min_face_px: int = Field(40, ge=10)
    video_detect_max_width: int = Field(1280, ge=160)


class FootageConfig(_Section):
    root: str = "var/footage"
    clips_dir: str = "var/clips"
    filename_pattern: str = r"(?P<camera>[^_/]+)_(?P<start>\d{8}T\d{6})_(?P<end>\d{8}T\d{6})"
    retention_days: int = 730
    verify_period_days: int = Field(30, ge=1)
    low_disk_free_bytes: int = 5 * 1024**3
    duration_tolerance_seconds: float = 5.0
    extensions: list[str] = [".mp4", ".avi", ".mkv", ".webm", ".mov", ".ts"]
    hash_chunk_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    verify_workers: int = Field(2, ge=1)
    verify_digest: Literal["blake3", "sha256"] = "blake3"
    coverage_min_share: float = Field(0.9, gt=0, le=1)
    clip_fourcc: Literal["VP80", "VP90"] = "VP80"
    clip_max_fps: float = Field(5.0, gt=0)
    clip_max_width: int = Field(640, ge=64)
    audit_head_file: str = "var/audit-head.json"

    @field_validator("retention_days")
    @classmethod
    def _at_least_two_years(cls, v: int) -> int:
        if v < 730:
            raise ValueError("retention may not be shorter than two years (730 days)")
        return v


class SchedulerConfig(_Section):
    timezone: str = "Asia/Shanghai"
    retention_sweep_time: str = "02:30"
    integrity_verify_time: str = "03:30"
    presence_recompute_time: str = "01:30"
    sampling_day_of_month: int = Field(1, ge=1, le=28)
    sampling_time: str = "04:30"
    misfire_grace_seconds: int = 3600
    job_lease_minutes: int = Field(180, ge=1)


class SamplingConfig(_Section):
    confidence: float = Field(0.95, gt=0, lt=1)
    tolerable_rate: float = Field(0.10, gt=0, lt=1)
    acceptance_number: int = Field(0, ge=0)
    method: Literal["hypergeometric", "binomial", "poisson", "iso2859"] = "hypergeometric"
    review_window_minutes: int = Field(10, ge=1)
    stratify_by_week: bool = True
    tightened_confidence: float = Field(0.95, gt=0, lt=1)
    tightened_tolerable_rate: float = Field(0.05, gt=0, lt=1)
    iso_aql: str = "2.5"
    iso_level: str = "II"
    spot_checks_per_month: int = Field(2, ge=0)
    risk_weights: dict[str, float] = {}
    reports_dir: str = "var/reports"


class SubsidyConfig(_Section):
    daily_first_days: int = 10
    daily_first_fen: int = 15000
    daily_after_fen: int = 10000
    per_person_cap_fen: int = 400000
    general_cap_fen: int = 100000
    employment_rate_required: float = 0.8
    min_contract_months: int = 6
    days_basis: Literal["attended", "scheduled"] = "attended"
    scheduled_days_threshold: float = 0.9
    enterprise_fen: int = 30000
    enterprise_min_days: int = 3
    cert_junior_fen: int = 40000
    cert_intermediate_fen: int = 60000
    cert_senior_fen: int = 80000
    settle_employed_only: bool = True
    cert_first_time_levels: list[Literal["junior", "intermediate", "senior"]] = ["junior", "intermediate", "senior"]
    claim_count_states: list[Literal["draft", "submitted", "approved"]] = ["submitted", "approved"]


class LoggingConfig(_Section):
    level: str = "INFO"
    format: Literal["json", "text"] = "json"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(
        env_prefix="PUNCHAUDIT_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    database_url: str = "sqlite:///var/punchaudit.db"
    secret_key: str = Field(..., min_length=16)
    api_host: str = "127.0.0.1"
    api_port: int = 8088
    api_rate_per_minute: int = Field(1200, ge=0)  # REST requests per API key and worker; 0 = no limit
    language: Literal["zh", "en"] = "zh"
    public_docs: bool = True  # serve /docs and /openapi.json without a key; switch off in production
    ingest: IngestConfig = IngestConfig()
    zkteco: ZktecoConfig = ZktecoConfig()
    presence: PresenceConfig = PresenceConfig()
    faces: FacesConfig = FacesConfig()
    footage: FootageConfig = FootageConfig()
    scheduler: SchedulerConfig = SchedulerConfig()
    sampling: SamplingConfig = SamplingConfig()
    subsidy: SubsidyConfig = SubsidyConfig()
    logging: LoggingConfig = LoggingConfig()

    _yaml_path: Path | None = None

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        path = Path(os.environ.get(CONFIG_ENV, DEFAULT_CONFIG))
        sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
        if path.exists():
            sources.append(YamlConfigSettingsSource(settings_cls, yaml_file=path, yaml_file_encoding="utf-8"))
        return tuple(sources)

    def sqlalchemy_url(self) -> str:
        return self.database_url


def load_settings(**overrides: Any) -> Settings:
    """Read config.yaml (or $PUNCHAUDIT_CONFIG) and the environment; raise ConfigError naming the key."""
    try:
        return Settings(**overrides)
    except ValidationError as exc:
        problems = []
        for err in exc.errors():
            key = ".".join(str(p) for p in err["loc"])
            env = "PUNCHAUDIT_" + "__".join(str(p) for p in err["loc"]).upper()
            problems.append(f"{key} (env {env}): {err['msg']}")
        raise ConfigError("invalid configuration: " + "; ".join(problems)) from None


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    return load_settings()
