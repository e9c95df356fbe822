"""The alarm catalog: stable codes, what each means and what to do.

Codes never change meaning once published; a board driver maps its protection bits onto
these codes, the core raises them, the server and links show them. Three families:
``E-`` errors (internal or hardware), ``A-`` alarms (a protection is acting), ``W-``
warnings (a limit is near; nothing is switched yet).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Family(StrEnum):
    ERROR = "error"
    ALARM = "alarm"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class AlarmInfo:
    code: str
    family: Family
    title: str
    cause: str
    advice: str


def _entry(code: str, title: str, cause: str, advice: str) -> AlarmInfo:
    family = {"E": Family.ERROR, "A": Family.ALARM, "W": Family.WARNING}[code[0]]
    return AlarmInfo(code, family, title, cause, advice)


_ENTRIES = (
    # Warnings: a limit is near, nothing switched yet.
    _entry(
        "W-CELL-OV",
        "Cell over-voltage warning",
        "A cell is close to its over-voltage limit.",
        "Reduce the charge voltage or current; check that balancing is working.",
    ),
    _entry(
        "W-CELL-UV",
        "Undervoltage warning",
        "A cell is close to its under-voltage limit.",
        "Reduce the load or start charging soon.",
    ),
    _entry(
        "W-PACK-OV",
        "Pack over-voltage warning",
        "The pack voltage is close to its maximum.",
        "Check the charger's absorption and float voltages.",
    ),
    _entry(
        "W-PACK-UV",
        "Pack under-voltage warning",
        "The pack voltage is close to its minimum.",
        "Reduce the load or start charging soon.",
    ),
    _entry(
        "W-CHG-OC",
        "Charge current high",
        "The charge current is close to its limit.",
        "Lower the charger's current limit.",
    ),
    _entry(
        "W-DSG-OC",
        "Discharge current high",
        "The discharge current is close to its limit.",
        "Reduce the load.",
    ),
    _entry(
        "W-CHG-OT",
        "High temperature for charging",
        "A cell is nearly too hot to charge.",
        "Improve cooling or reduce the charge current.",
    ),
    _entry(
        "W-CHG-UT",
        "Low temperature for charging",
        "A cell is nearly too cold to charge.",
        "Warm the pack before charging; lithium plating damages cold cells.",
    ),
    _entry(
        "W-DSG-OT",
        "High temperature",
        "A cell is nearly too hot to discharge.",
        "Reduce the load and improve cooling.",
    ),
    _entry(
        "W-DSG-UT",
        "Low temperature",
        "A cell is nearly too cold to discharge.",
        "Reduce the load or warm the pack.",
    ),
    _entry(
        "W-FET-OT",
        "Power stage hot",
        "The power stage (FETs) is near its temperature limit.",
        "Reduce the current; check the heat sink and the connections.",
    ),
    _entry(
        "W-IMBALANCE",
        "Cell imbalance",
        "The spread between the highest and lowest cell is large.",
        "Let the balancer work during a full charge; a cell that keeps drifting may be weak.",
    ),
    _entry(
        "W-PREALARM",
        "Pre-alarm: load disconnect imminent",
        "A cell voltage is falling towards the load-disconnect level.",
        "Reduce the load or start charging now; the loads will be disconnected shortly.",
    ),
    _entry(
        "W-CHARGE-DISCONNECT",
        "Charge disconnect imminent",
        "A cell is near its over-voltage limit or the temperature is near a charging limit.",
        "The charge sources are being switched off; check the charger settings.",
    ),
    _entry(
        "W-LOAD-DISCONNECT",
        "Loads disconnected",
        "A cell stayed below the load-disconnect level after the pre-alarm; "
        "the load-disconnect output is released.",
        "Recharge the pack; the loads reconnect when the cells have recovered.",
    ),
    _entry(
        "W-CHARGE-FULL",
        "Charge limit reached",
        "The pack reached its charge voltage limit; charging pauses until the voltage has settled below it.",
        "Nothing to do: this is the normal end of a charge.",
    ),
    # Alarms: a protection is acting.
    _entry(
        "A-CELL-OV",
        "Cell over-voltage",
        "A cell exceeded its over-voltage limit; charging is stopped.",
        "Charging resumes when the cell has fallen below the release level; check the charger settings.",
    ),
    _entry(
        "A-CELL-UV",
        "Undervoltage alarm",
        "A cell fell below its under-voltage limit; discharging is stopped.",
        "Recharge the pack as soon as possible.",
    ),
    _entry(
        "A-PACK-OV",
        "Pack over-voltage",
        "The pack voltage exceeded its maximum; charging is stopped.",
        "Check the charger's voltage settings.",
    ),
    _entry(
        "A-PACK-UV",
        "Pack under-voltage",
        "The pack voltage fell below its minimum; discharging is stopped.",
        "Recharge the pack as soon as possible.",
    ),
    _entry(
        "A-CHG-OC",
        "Charge over-current",
        "The charge current exceeded its limit; charging is stopped.",
        "Lower the charger's current limit.",
    ),
    _entry(
        "A-DSG-OC1",
        "Discharge over-current",
        "The discharge current exceeded its first limit for too long.",
        "Reduce the load; discharging resumes after the recovery delay.",
    ),
    _entry(
        "A-DSG-OC2",
        "Discharge over-current (level 2)",
        "The discharge current exceeded its second limit.",
        "Reduce the load; check for a fault in the wiring or the loads.",
    ),
    _entry(
        "A-SHORT-CIRCUIT",
        "Short circuit",
        "A current far above the limits flowed; the pack was switched off.",
        "Find and remove the short, then reset the BMS.",
    ),
    _entry(
        "A-CHG-OT",
        "Over temperature (charging)",
        "A cell is too hot to charge; charging is stopped.",
        "Let the pack cool down; check ventilation.",
    ),
    _entry(
        "A-CHG-UT",
        "Under temperature (charging)",
        "A cell is too cold to charge; charging is stopped.",
        "Warm the pack above the charge limit before charging.",
    ),
    _entry(
        "A-DSG-OT",
        "Over temperature",
        "A cell is too hot; discharging is stopped.",
        "Let the pack cool down; reduce the load.",
    ),
    _entry(
        "A-DSG-UT",
        "Under temperature",
        "A cell is too cold to discharge; discharging is stopped.",
        "Warm the pack.",
    ),
    _entry(
        "A-FET-OT",
        "Power stage over temperature",
        "The FETs are too hot; both paths are off.",
        "Reduce the current; check the heat sink and the connections.",
    ),
    _entry(
        "A-IMBALANCE",
        "Severe cell imbalance",
        "The cell spread exceeds the protection limit.",
        "Balance the pack; a cell that keeps drifting may be failing.",
    ),
    _entry(
        "A-REMOTE-OFF",
        "Switched off remotely",
        "A remote off command disabled one or both paths.",
        "Switch the pack on again from the app, the server or the remote input.",
    ),
    # Errors: internal or hardware faults.
    _entry(
        "E-SENSOR-STALE",
        "Sensor failure: no fresh data",
        "Measurements stopped arriving in time.",
        "Check the wiring and the link to the measuring board.",
    ),
    _entry(
        "E-SENSOR-MISSING",
        "Sensor failure: value missing",
        "A measurement is missing or not a number.",
        "Check the sensor and its connection.",
    ),
    _entry(
        "E-SENSOR-OPEN-WIRE",
        "Sensor failure: open sense wire",
        "A cell sense wire reads as disconnected.",
        "Check the balance lead and its connector.",
    ),
    _entry(
        "E-SENSOR-RANGE",
        "Sensor failure: value out of range",
        "A reading lies outside what is physically possible.",
        "Check the sensor; replace it if it keeps reading implausible values.",
    ),
    _entry(
        "E-SENSOR-PLAUSIBILITY",
        "Sensor failure: readings disagree",
        "The pack voltage disagrees with the sum of the cell voltages.",
        "Check the voltage sense wires and calibrate.",
    ),
    _entry(
        "E-CONFIG",
        "Configuration failure",
        "The settings are invalid or inconsistent.",
        "Run `smartbms config check` and correct the reported fields.",
    ),
    _entry(
        "E-CALIBRATION",
        "Calibration failure",
        "A calibration value is missing or out of range.",
        "Recalibrate the voltage and current measurement.",
    ),
    _entry(
        "E-AFE",
        "Measurement chip failure",
        "The analog front end or board reported an internal error.",
        "Power-cycle the BMS; replace the board if it persists.",
    ),
    _entry(
        "E-FET",
        "Switch failure",
        "A path did not open or close as commanded (e.g. a welded contactor).",
        "Isolate the pack and inspect the FETs or contactors.",
    ),
    _entry(
        "E-COMM",
        "Communication failure",
        "The link to a board or device was lost.",
        "Check the cable and the device; smartbms reconnects by itself.",
    ),
)

CATALOG: dict[str, AlarmInfo] = {entry.code: entry for entry in _ENTRIES}


def describe(code: str) -> AlarmInfo:
    """The catalog entry for ``code``; an unknown code is a programming error."""
    return CATALOG[code]
