"""Request and response bodies of the REST API, one schema per resource."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from smartbms.server.alerts import RULE_FIELDS
from smartbms.server.security import Role

_FINITE = ConfigDict(allow_inf_nan=False)
PACK_ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"


class Problem(BaseModel):
    field: str
    message: str


class ErrorBody(BaseModel):
    detail: str
    problems: list[Problem] = []


# -- accounts ------------------------------------------------------------------------------
class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class Me(BaseModel):
    username: str
    role: Role
    kind: str
    csrf_token: str | None = None
    must_change_password: bool = False


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=10, max_length=256)


class UserIn(BaseModel):
    username: str = Field(pattern=r"^[A-Za-z0-9_.@-]{1,64}$")
    password: str = Field(min_length=10, max_length=256)
    role: Role = Role.VIEWER


class UserPatch(BaseModel):
    role: Role | None = None
    password: str | None = Field(default=None, min_length=10, max_length=256)


class UserOut(BaseModel):
    id: int
    username: str
    role: Role
    must_change_password: bool
    created_at: float


class TokenIn(BaseModel):
    name: str = Field(min_length=1, max_length=64)
    kind: Literal["api", "device"] = "api"
    # API tokens act with this role; device tokens ignore it.
    role: Role = Role.VIEWER
    # Required for device tokens: the only pack the token may post.
    pack_id: str | None = Field(default=None, pattern=PACK_ID_PATTERN)


class TokenOut(BaseModel):
    id: int
    name: str
    kind: str
    role: str
    pack_id: str | None
    created_by: str
    created_at: float


class TokenCreated(TokenOut):
    token: str = Field(description="The secret, shown this once only.")


class AuditOut(BaseModel):
    id: int
    timestamp: float
    actor: str
    action: str
    target: str
    old_value: Any = None
    new_value: Any = None


# -- packs and telemetry -----------------------------------------------------------------
class TelemetryIn(BaseModel):
    """One sample in the shared telemetry vocabulary; unknown keys are kept as extra fields."""

    model_config = ConfigDict(extra="allow", allow_inf_nan=False)
    timestamp: float = Field(gt=0, lt=1e11)
    voltage_v: float | None = None
    current_a: float | None = None
    power_w: float | None = None
    soc_pct: float | None = Field(default=None, ge=0, le=100)
    soh_pct: float | None = Field(default=None, ge=0, le=100)
    remaining_ah: float | None = None
    capacity_ah: float | None = None
    cycles: int | None = Field(default=None, ge=0, le=10**9)
    cell_voltages_v: list[float] | None = Field(default=None, max_length=1024)
    temperatures_c: list[float] | None = Field(default=None, max_length=256)
    mosfet_temperature_c: float | None = None
    charge_enabled: bool | None = None
    discharge_enabled: bool | None = None
    balancing_cells: list[int] | None = Field(default=None, max_length=1024)
    alarms: list[str] | None = Field(default=None, max_length=256)


class EventIn(BaseModel):
    model_config = _FINITE
    timestamp: float = Field(gt=0, lt=1e11)
    kind: str = Field(max_length=32)
    code: str = Field(max_length=64)
    message: str = Field(max_length=2000)
    data: dict[str, Any] = {}


# Row ids live in 64-bit database integers: anything larger can name no row.
DB_INT_MAX = 2**63 - 1
RowId = Annotated[int, Field(ge=1, le=DB_INT_MAX)]


class CommandAck(BaseModel):
    id: RowId
    ok: bool
    result: str = Field("", max_length=2000)


class IngestIn(BaseModel):
    samples: list[dict[str, Any]] = Field(default=[], max_length=100_000)
    events: list[EventIn] = Field(default=[], max_length=10_000)
    # From an uplink with a controller: its current settings, and results of delivered commands.
    settings: dict[str, Any] | None = None
    acks: list[CommandAck] = Field(default=[], max_length=1000)


class CommandFor(BaseModel):
    id: int
    kind: str
    payload: dict[str, Any]


class Rejected(BaseModel):
    index: int
    error: str


class IngestOut(BaseModel):
    stored: int
    duplicates: int
    rejected: list[Rejected]
    # Commands waiting for this pack; re-sent until acknowledged in a later post's ``acks``.
    commands: list[CommandFor] = []
    settings_rejected: str | None = None


class AlarmOut(BaseModel):
    code: str
    family: str
    title: str
    cause: str
    advice: str


class PackSummary(BaseModel):
    pack_id: str
    name: str
    source: str
    last_seen: float | None
    stale: bool
    controllable: bool
    alarms: list[AlarmOut]
    open_alerts: int
    latest: dict[str, Any] | None


class PackDetail(PackSummary):
    remote_mode: str | None
    open_episodes: list[EpisodeOut]


class PackIn(BaseModel):
    pack_id: str = Field(pattern=PACK_ID_PATTERN)
    name: str | None = Field(default=None, max_length=128)


class HistoryOut(BaseModel):
    pack_id: str
    resolution: Literal["raw", "1m", "1h"]
    start: float
    end: float
    points: list[dict[str, Any]]


class EventOut(BaseModel):
    id: int
    timestamp: float
    kind: str
    code: str
    message: str
    data: dict[str, Any]


class SettingsOut(BaseModel):
    pack_id: str
    settings: dict[str, Any]
    json_schema: dict[str, Any]
    # True for a pack reached through its uplink: the change is queued until its next post.
    pending: bool = False


class SettingsPatch(BaseModel):
    changes: dict[str, Any] = Field(
        min_length=1,
        description='Dotted keys, e.g. {"protection.cell_ov_v": 3.62}',
        examples=[{"power.sample_period_s": 1.0}],
    )


class SwitchIn(BaseModel):
    on: bool


class RemoteModeIn(BaseModel):
    mode: Literal["on", "off-charge-and-system", "off-charge-only", "off-all"]


class SocIn(BaseModel):
    model_config = _FINITE
    soc_pct: float = Field(ge=0, le=100)


class CommandOut(BaseModel):
    pack_id: str
    command: str
    accepted: bool
    queued: bool = False
    remote_mode: str | None = None
    message: str = ""


# -- alerts ------------------------------------------------------------------------------
class RuleIn(BaseModel):
    model_config = _FINITE
    name: str = Field(min_length=1, max_length=128)
    pack_id: str | None = Field(default=None, pattern=PACK_ID_PATTERN)
    field: Literal[RULE_FIELDS]  # type: ignore[valid-type]
    op: Literal["above", "below"]
    trip: float
    clear: float
    duration_s: float = Field(0.0, ge=0, le=86_400)


class RuleOut(RuleIn):
    id: int
    enabled: bool


class ChannelIn(BaseModel):
    kind: Literal["webhook", "email"]
    target: str = Field(min_length=3, max_length=512)


class ChannelOut(ChannelIn):
    id: int
    enabled: bool


class EpisodeOut(BaseModel):
    id: int
    pack_id: str
    key: str
    title: str
    started_at: float
    cleared_at: float | None
    detail: str


class StatusOut(BaseModel):
    packs: int
    samples_stored: int
    samples_duplicate: int
    samples_rejected: int
    posts: int
    live_subscribers: int
    storage_commits: int


PackDetail.model_rebuild()
