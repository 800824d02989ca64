"""The one settings class: built once from REHAB_* (and PREFECT_API_URL) in the environment."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from pydantic import AliasChoices, Field, ValidationError, field_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from plans.durations import PositiveDuration
from plans.errors import InvalidSettings
from plans.model import TimeZoneName

EXAMPLES = Path(__file__).resolve().parent.parent / "plans" / "examples"
TEMPLATES = Path(__file__).resolve().parent.parent / "plans" / "templates"


class Settings(BaseSettings):
    """Where rehab keeps its data and how often it looks for due work."""

    model_config = SettingsConfigDict(env_prefix="REHAB_", extra="ignore", frozen=True)

    home: Path = Path("~/.rehab")
    database_url: str | None = None
    partners_file: Path = EXAMPLES / "partners.yaml"
    staff_file: Path = EXAMPLES / "staff.yaml"
    templates_dir: Path = TEMPLATES
    clock_interval: PositiveDuration = timedelta(seconds=60)
    secret_key_file: Path | None = None
    require_approval: bool = True
    stale_run_after: PositiveDuration = timedelta(seconds=120)
    runner_poll: PositiveDuration = timedelta(seconds=2)
    runner_limit: int = 8
    db_busy_timeout: PositiveDuration = timedelta(seconds=15)
    send_max_attempts: int = 5
    send_retry_base: PositiveDuration = timedelta(seconds=30)
    send_retry_cap: PositiveDuration = timedelta(hours=1)
    prefect_api_url: str | None = Field(
        default=None, validation_alias=AliasChoices("PREFECT_API_URL", "REHAB_PREFECT_API_URL")
    )
    prefect_port: int = 4209  # Prefect's server, behind the door, 127.0.0.1 only
    prefect_host: str = "127.0.0.1"  # where the embedded server listens
    public_url: str | None = None  # the UI's address as staff open it (a TLS proxy's)
    port: int = 4200  # the door: the one web address for people
    host: str = "127.0.0.1"  # where the door listens

    # The programme report's disclosure threshold (report.md): may be raised, never lowered.
    report_threshold: int = 11

    display_timezone: TimeZoneName = (
        "Europe/Minsk"  # how times are shown where no plan says otherwise
    )

    @field_validator("report_threshold")
    @classmethod
    def _never_below_eleven(cls, value: int) -> int:
        if value < 11:
            raise ValueError(f"{value} is below 11: the threshold may be raised, never lowered")
        return value

    @property
    def display_tz(self) -> ZoneInfo:
        """The zone times are shown in by commands that are about no one plan."""
        return ZoneInfo(self.display_timezone)

    @property
    def home_dir(self) -> Path:
        """REHAB_HOME with ~ expanded."""
        return self.home.expanduser()

    @property
    def store_url(self) -> str:
        """The case store's SQLAlchemy URL: REHAB_DATABASE_URL, else SQLite in REHAB_HOME."""
        return self.database_url or f"sqlite:///{self.home_dir / 'cases.db'}"

    @property
    def door_url(self) -> str:
        """The door's address as people open it: REHAB_PUBLIC_URL, else its own."""
        return (self.public_url or f"http://{self.host}:{self.port}").rstrip("/")

    @property
    def key_file(self) -> Path:
        """The secret key that seals personal data."""
        return (self.secret_key_file or self.home_dir / "secret.key").expanduser()


def load_settings() -> Settings:
    """Settings from the environment; a bad value is InvalidSettings naming the variable."""
    try:
        return Settings()
    except ValidationError as exc:
        problems = []
        for error in exc.errors():
            name = "REHAB_" + str(error["loc"][0]).upper() if error["loc"] else "environment"
            problems.append(f"{name}: {str(error['msg']).removeprefix('Value error, ')}")
        raise InvalidSettings(problems) from None
