"""Alert rules: threshold with hysteresis and a hold time, a no-data rule per pack, core alarms.

Each condition opens one *episode*: one notification when it starts and one recovery message
when it clears, however many samples it spans. Open episodes are reloaded at start so a
restart does not repeat them.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from smartbms.server.notifiers import Notification, Notifier
from smartbms.server.storage.base import Storage
from smartbms.server.storage.records import AlertRule, sample_columns

# Fields a rule may watch: the telemetry numbers plus the derived cell/temperature columns.
RULE_FIELDS: tuple[str, ...] = (
    "voltage_v",
    "current_a",
    "power_w",
    "soc_pct",
    "soh_pct",
    "remaining_ah",
    "mosfet_temperature_c",
    "cell_min_v",
    "cell_max_v",
    "cell_spread_v",
    "temp_min_c",
    "temp_max_c",
)


def rule_value(rule_field: str, sample: dict[str, Any]) -> float | None:
    derived = sample_columns(sample)
    value = derived[rule_field] if rule_field in derived else sample.get(rule_field)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


@dataclass
class _RuleState:
    pending_since: float | None = None
    episode_id: int | None = None


class AlertEngine:
    def __init__(
        self,
        storage: Storage,
        notifier: Notifier | None,
        *,
        no_data_after_s: float = 60.0,
        clock: Callable[[], float] = time.time,
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self.storage = storage
        self.notifier = notifier
        self.no_data_after_s = no_data_after_s
        self.clock = clock
        self.on_change = on_change
        self._lock = threading.Lock()
        self._rules: list[AlertRule] = []
        self._states: dict[tuple[int, str], _RuleState] = {}
        self._open: dict[tuple[str, str], int] = {}  # (pack, key) -> open episode id
        self.reload()

    def reload(self) -> None:
        with self._lock:
            self._rules = [r for r in self.storage.list_rules() if r.enabled]
            self._open = {
                (e.pack_id, e.key): e.id for e in self.storage.episodes(open_only=True, limit=10_000)
            }
            for (pack_id, key), episode_id in self._open.items():
                if key.startswith("rule:"):
                    rule_id = int(key.split(":", 1)[1])
                    self._states[(rule_id, pack_id)] = _RuleState(episode_id=episode_id)
            live = {r.id for r in self._rules}
            self._states = {k: v for k, v in self._states.items() if k[0] in live}

    # -- episodes ------------------------------------------------------------------------
    def _start(self, pack_id: str, key: str, title: str, at: float, detail: str) -> int | None:
        if (pack_id, key) in self._open:
            return self._open[(pack_id, key)]
        episode = self.storage.open_episode(pack_id, key, title, at, detail)
        self._open[(pack_id, key)] = episode.id
        if self.notifier:
            self.notifier.notify(Notification(pack_id, key, title, "alert", at, detail))
        if self.on_change:
            self.on_change(pack_id)
        return episode.id

    def _clear(self, pack_id: str, key: str, title: str, at: float, detail: str) -> None:
        episode_id = self._open.pop((pack_id, key), None)
        if episode_id is None:
            return
        self.storage.close_episode(episode_id, at)
        if self.notifier:
            self.notifier.notify(Notification(pack_id, key, title, "recovered", at, detail))
        if self.on_change:
            self.on_change(pack_id)

    # -- evaluation ------------------------------------------------------------------------
    def on_samples(self, pack_id: str, samples: Sequence[dict[str, Any]]) -> None:
        with self._lock:
            for sample in sorted(samples, key=lambda s: float(s["timestamp"])):
                ts = float(sample["timestamp"])
                self._clear(pack_id, "no-data", "No data", ts, "the pack is reporting again")
                for rule in self._rules:
                    if rule.pack_id is None or rule.pack_id == pack_id:
                        self._evaluate(rule, pack_id, sample, ts)
                self._alarms(pack_id, sample, ts)

    def _evaluate(self, rule: AlertRule, pack_id: str, sample: dict[str, Any], ts: float) -> None:
        value = rule_value(rule.field, sample)
        if value is None:
            return
        state = self._states.setdefault((rule.id, pack_id), _RuleState())
        key = f"rule:{rule.id}"
        beyond_trip = value > rule.trip if rule.op == "above" else value < rule.trip
        past_clear = value < rule.clear if rule.op == "above" else value > rule.clear
        if state.episode_id is None:
            if not beyond_trip:
                state.pending_since = None
                return
            if state.pending_since is None:
                state.pending_since = ts
            if ts - state.pending_since >= rule.duration_s:
                detail = f"{rule.field} = {value:g} is {rule.op} {rule.trip:g} for {rule.duration_s:g} s"
                state.episode_id = self._start(pack_id, key, rule.name, ts, detail)
        elif past_clear:
            detail = f"{rule.field} = {value:g} is back past {rule.clear:g}"
            self._clear(pack_id, key, rule.name, ts, detail)
            state.episode_id = None
            state.pending_since = None

    def _alarms(self, pack_id: str, sample: dict[str, Any], ts: float) -> None:
        codes = sample.get("alarms")
        if codes is None:
            return
        from smartbms.core.alarms import CATALOG

        active = {str(c) for c in codes}
        for code in active:
            info = CATALOG.get(code)
            title = f"{code} {info.title}" if info else code
            detail = f"{info.cause} {info.advice}" if info else "alarm reported by the pack"
            self._start(pack_id, f"alarm:{code}", title, ts, detail)
        for pid, key in list(self._open):
            if pid == pack_id and key.startswith("alarm:") and key[6:] not in active:
                self._clear(pack_id, key, key[6:], ts, f"{key[6:]} cleared")

    def check_no_data(self, now: float | None = None) -> None:
        now = self.clock() if now is None else now
        with self._lock:
            for pack in self.storage.list_packs():
                if pack.last_seen is not None and now - pack.last_seen > self.no_data_after_s:
                    detail = f"no sample for {now - pack.last_seen:.0f} s (limit {self.no_data_after_s:g} s)"
                    self._start(pack.pack_id, "no-data", "No data", now, detail)
