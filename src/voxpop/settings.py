"""All configuration, from VOXPOP_* environment variables (one pydantic-settings class)."""

from __future__ import annotations

import os
import secrets
from functools import cached_property, lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

MIN_SECRET_LENGTH = 32


class Settings(BaseSettings):
    """voxpop's settings. Every field is documented in docs/admin-guide.md (a test checks)."""

    model_config = SettingsConfigDict(env_prefix="VOXPOP_", env_file=None, extra="ignore")

    data_dir: Path = Field(Path(".voxpop"), description="Folder for the default SQLite database and the generated secret key.")
    database_url: str | None = Field(None, description="SQLAlchemy URL; default is SQLite in data_dir. PostgreSQL: postgresql+psycopg://user@host/db")
    secret_key: str | None = Field(None, description="Signs session cookies and form tokens; generated into data_dir when unset.")
    secure_cookies: bool = Field(False, description="Mark cookies Secure; turn on behind HTTPS.")
    session_max_age: int = Field(8 * 3600, description="Seconds a staff login lasts.")
    timezone: str = Field("UTC", description="Workspace time zone for display and daily buckets.")
    min_base: int = Field(30, ge=1, description="Below this many answers a metric is flagged low_base.")
    max_text_length: int = Field(5000, ge=1, description="Longest free-text answer accepted, in characters.")
    max_body_bytes: int = Field(1_000_000, ge=1024, description="Largest request body accepted, in bytes.")
    max_upload_bytes: int = Field(200_000_000, ge=1024, description="Largest export file staff may upload to import, in bytes.")
    rate_limit_per_minute: int = Field(120, ge=1, description="Public requests per client per minute.")
    login_rate_limit_per_minute: int = Field(30, ge=1, description="Login form posts (password, two-factor code and set-up) and password-reset form posts per client address per minute: a budget of their own, apart from the public survey traffic's.")
    retention_months: int | None = Field(None, ge=1, le=1200, description="Anonymise responses older than this many months (their free text and customer link), in a background thread of the web server; unset keeps them.")
    trust_proxy_headers: bool = Field(False, description="Take the client address from X-Forwarded-For (only behind your own proxy).")
    keep_original_comments: bool = Field(False, description="Keep each comment's original text, before redaction, for admins to read; off, only the redacted text is stored.")
    text_worker: bool = Field(True, description="Analyse new comments (redaction, language, sentiment, themes) in a background thread of the web server.")
    text_worker_interval: float = Field(5.0, gt=0, le=3600, description="Seconds the comment worker waits between looks for new comments.")
    case_worker: bool = Field(True, description="Run case rules on new responses, watch case deadlines and alert rules, run e-mail invitation sends, triggers and reminders, and send queued e-mail and webhooks, in background threads of the web server.")
    case_worker_interval: float = Field(2.0, gt=0, le=3600, description="Seconds the case and sending workers wait between looks for new work.")
    public_url: str = Field("http://127.0.0.1:8000", description="The address customers and staff reach voxpop at, for links in e-mails (no trailing slash).")
    smtp_host: str | None = Field(None, description="SMTP server for e-mail; unset, e-mail stays queued and the pages say so.")
    smtp_port: int = Field(587, ge=1, le=65535, description="SMTP port.")
    smtp_user: str | None = Field(None, description="SMTP login name, if the server asks for one.")
    smtp_password: str | None = Field(None, description="SMTP password; give it in the environment, never in a file in the repository.")
    smtp_security: str = Field("starttls", pattern="^(starttls|tls|none)$", description="starttls, tls (implicit, port 465) or none (a local relay only).")
    smtp_from: str = Field("voxpop <voxpop@localhost>", description="The From address of every e-mail voxpop sends.")
    smtp_per_minute: int = Field(60, ge=1, description="Most e-mails sent per minute, so a burst of cases cannot trip the server's limits.")

    @field_validator("secret_key")
    @classmethod
    def _long_enough(cls, value: str | None) -> str | None:
        if value is not None and len(value) < MIN_SECRET_LENGTH:
            raise ValueError(f"must have at least {MIN_SECRET_LENGTH} characters; generate one with "
                             "python -c 'import secrets; print(secrets.token_urlsafe(48))'")
        return value

    @field_validator("timezone")
    @classmethod
    def _known_timezone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"unknown time zone {value!r}; use an IANA name such as Europe/Berlin") from exc
        return value

    @property
    def sqlalchemy_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{(self.data_dir / 'voxpop.db').as_posix()}"

    @cached_property
    def signing_key(self) -> str:
        """The secret key, or one generated once into data_dir (mode 0600), never into the repository.
        Cached: every survey page signs and checks form tokens with it, and the file never changes."""
        if self.secret_key:
            return self.secret_key
        path = self.data_dir / "secret_key"
        if not path.exists():
            from voxpop.store.database import private_directory

            private_directory(self.data_dir)  # 0700 when voxpop creates it: it holds the key and the database
            # Written whole to a private temporary file, then linked into place: a second process starting
            # at the same moment sees either no key or the full key, never an empty one, and the first link wins,
            # so every process on this machine signs with the same key. The temporary name is random, not the
            # process id: a container restarts as pid 1, and a file left by a crash must not block the next start.
            temporary = self.data_dir / f".secret_key.{secrets.token_hex(8)}"
            descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
            with os.fdopen(descriptor, "w") as handle:
                handle.write(secrets.token_urlsafe(48))
            try:
                os.link(temporary, path)  # fails if another process won the race: use its key
            except FileExistsError:
                pass
            finally:
                temporary.unlink()
        key = path.read_text().strip()
        if len(key) < MIN_SECRET_LENGTH:
            raise ValueError(f"{path} holds a key shorter than {MIN_SECRET_LENGTH} characters; delete it to get a new one")
        return key


@lru_cache
def get_settings() -> Settings:
    return Settings()
