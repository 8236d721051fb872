"""The policy's money rules, one function each (大同市大数据产业精准培训提质增效工作方案 2022-2024).

Amounts are integer fen and shares exact `Fraction`s: a claim is money, and an 80% boundary decided
by a float rounding error is a wrong payment. Each function returns the amount together with the
reasons for any reduction, so nothing is cut without an explanation on the form.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from typing import Any, Literal

from subsidy import reasons as R
from subsidy.reasons import Reason

Decision = Literal["pass", "fail"]
LEVELS = ("junior", "intermediate", "senior")  # 初级工 / 中级工 / 高级工
LEVEL_ZH = {"junior": "初级工", "intermediate": "中级工", "senior": "高级工"}
_LEVEL_ALIASES = {"初级": "junior", "初级工": "junior", "五级": "junior", "中级": "intermediate",
                  "中级工": "intermediate", "四级": "intermediate", "高级": "senior", "高级工": "senior",
                  "三级": "senior"}


def exact_share(value: float | str | Fraction | Decimal) -> Fraction:
    """A configured share (0.8) as an exact fraction (4/5): decimal text, never the binary float."""
    if isinstance(value, Fraction):
        return value
    return Fraction(str(value))


@dataclass(frozen=True)
class Rates:
    """The rate card, all money in fen. Built from `settings.subsidy` by `from_config`."""

    daily_first_days: int = 10
    daily_first_fen: int = 15000
    daily_after_fen: int = 10000
    per_person_cap_fen: int = 400000
    general_cap_fen: int = 100000
    employment_rate_required: Fraction = Fraction(4, 5)
    min_contract_months: int = 6
    settle_employed_only: bool = True
    days_basis: Literal["attended", "scheduled"] = "attended"
    scheduled_days_threshold: Fraction = Fraction(9, 10)
    enterprise_fen: int = 30000
    enterprise_min_days: int = 3
    cert_junior_fen: int = 40000
    cert_intermediate_fen: int = 60000
    cert_senior_fen: int = 80000
    cert_first_time_levels: tuple[str, ...] = LEVELS

    @classmethod
    def from_config(cls, section: Any) -> "Rates":
        """Read the attributes of a config section (duck-typed: subsidy imports no config code)."""
        values: dict[str, Any] = {}
        for name in cls.__dataclass_fields__:
            if hasattr(section, name):
                values[name] = getattr(section, name)
        for share in ("employment_rate_required", "scheduled_days_threshold"):
            if share in values:
                values[share] = exact_share(values[share])
        if "cert_first_time_levels" in values:
            values["cert_first_time_levels"] = tuple(values["cert_first_time_levels"])
        return cls(**values)

    def cert_fen(self, level: str) -> int | None:
        return {"junior": self.cert_junior_fen, "intermediate": self.cert_intermediate_fen,
                "senior": self.cert_senior_fen}.get(level)


def normalize_level(text: str) -> str:
    """'初级' / '初级工' / 'junior' -> 'junior'; raises ValueError for anything else."""
    value = (text or "").strip()
    if value.lower() in LEVELS:
        return value.lower()
    if value in _LEVEL_ALIASES:
        return _LEVEL_ALIASES[value]
    raise ValueError(f"unknown certificate level {text!r} (expected junior, intermediate or senior)")


def counted_days(attended: int, scheduled: int, rates: Rates) -> tuple[int, list[Reason]]:
    """Training days paid for one trainee. Verified attended days by default; with basis 'scheduled'
    a trainee whose attendance share reaches the threshold is paid for every scheduled day."""
    if attended < 0 or scheduled < 0:
        raise ValueError("days cannot be negative")
    if rates.days_basis == "scheduled":
        if scheduled > 0 and Fraction(attended, scheduled) >= rates.scheduled_days_threshold:
            return scheduled, []
        return attended, [R.SCHEDULED_BELOW_THRESHOLD]
    return attended, []


def inspected_days(attended: int, days_without_records: int, scheduled: int) -> int:
    """Days paid when a class lacked punch records and its sampling inspection passed: the days a
    trainee was verified present where records exist, plus every day without records (the passed
    inspection accepts those as held as declared), never more than the scheduled days."""
    if min(attended, days_without_records, scheduled) < 0:
        raise ValueError("days cannot be negative")
    return min(attended + days_without_records, scheduled)


def project_training_fen(days: int, rates: Rates) -> tuple[int, list[Reason]]:
    """项目制培训: 150 a day for the first 10 days, 100 a day after, at most 4,000 a person."""
    if days < 0:
        raise ValueError("days cannot be negative")
    if days == 0:
        return 0, [R.NO_DAYS]
    first = min(days, rates.daily_first_days)
    raw = first * rates.daily_first_fen + (days - first) * rates.daily_after_fen
    if raw > rates.per_person_cap_fen:
        return rates.per_person_cap_fen, [R.CAP_PER_PERSON]
    return raw, []


def qualifying_employment(contract_months: int | None, rates: Rates) -> bool:
    """A labour contract or employment agreement of at least `min_contract_months` (6) counts."""
    return contract_months is not None and contract_months >= rates.min_contract_months


def employment_rate(passed: int, employed_and_passed: int) -> Fraction | None:
    """就业率: trainees who passed and hold a qualifying contract, over trainees who passed (培训合格人员).
    None when nobody passed: there is no rate, and the condition is not met."""
    if employed_and_passed < 0 or passed < 0 or employed_and_passed > passed:
        raise ValueError("employed trainees must be a subset of the trainees who passed")
    return None if passed == 0 else Fraction(employed_and_passed, passed)


def employment_condition_met(rate: Fraction | None, rates: Rates) -> bool:
    """The class reaches the required rate (达到 80%: equal counts)."""
    return rate is not None and rate >= rates.employment_rate_required


def general_subsidy_fen(amount_fen: int, rates: Rates) -> tuple[int, list[Reason]]:
    """普惠制: below the employment rate the institution gets at most 1,000 a trainee."""
    if amount_fen > rates.general_cap_fen:
        return rates.general_cap_fen, [R.GENERAL_CAP]
    return amount_fen, []


def payability(has_punch_records: bool, inspection_decision: Decision | None) -> Reason | None:
    """None when the class may be paid; otherwise why not. A class with daily punch records needs no
    inspection; one without is payable only after its sampling inspection passed."""
    if has_punch_records:
        return None
    if inspection_decision == "pass":
        return None
    if inspection_decision == "fail":
        return R.INSPECTION_FAILED
    return R.INSPECTION_PENDING


def enterprise_training_fen(days: int, rates: Rates) -> tuple[int, list[Reason]]:
    """企业职工在岗培训: training of at least 3 days earns 300 a trainee, shorter earns nothing."""
    if days >= rates.enterprise_min_days:
        return rates.enterprise_fen, []
    return 0, [R.ENTERPRISE_TOO_FEW_DAYS]


def certification_fen(level: str, first_time: bool, rates: Rates) -> tuple[int, list[Reason]]:
    """职业技能等级评价: 400 junior, 600 first intermediate, 800 first senior; a level the trainee
    already holds earns nothing again (levels listed in `cert_first_time_levels`)."""
    amount = rates.cert_fen(level)
    if amount is None:
        return 0, [R.CERT_UNKNOWN_LEVEL]
    if not first_time and level in rates.cert_first_time_levels:
        return 0, [R.CERT_ALREADY_HELD]
    return amount, []


def fen_to_yuan(fen: int) -> Decimal:
    """Exact yuan with two decimals."""
    return (Decimal(fen) / 100).quantize(Decimal("0.01"))


def fen_to_wan(fen: int) -> Decimal:
    """Exact 万元 (10,000 yuan), as the application form's amount column asks: up to 6 decimals."""
    return (Decimal(fen) / 1_000_000).quantize(Decimal("0.000001"))


def format_yuan(fen: int) -> str:
    return f"{fen_to_yuan(fen):,.2f}"
