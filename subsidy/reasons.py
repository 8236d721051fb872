"""Why an amount is lower than the rate card says: every reduction carries a code and a sentence in
Chinese and English, so the claim form, the CLI and the API explain a figure the same way."""
from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Reason:
    code: str
    zh: str
    en: str

    def text(self, language: str = "zh") -> str:
        return self.en if language == "en" else self.zh

    def as_dict(self) -> dict[str, str]:
        return {"code": self.code, "zh": self.zh, "en": self.en}


def _r(code: str, zh: str, en: str) -> Reason:
    return Reason(code, zh, en)


CAP_PER_PERSON = _r("cap_per_person", "超过每人最高补贴标准，按上限结算", "above the per-person maximum; paid at the cap")
GENERAL_CAP = _r(
    "general_cap",
    "培训后就业率未达到规定比例，按普惠制培训补贴每人不超过上限结算",
    "class employment rate below the required rate; general (普惠制) subsidy capped per trainee",
)
NOT_EMPLOYED = _r(
    "not_employed",
    "无期限不少于规定月数的劳动合同或就业协议，按实际培训就业人数结算",
    "no labour contract or employment agreement of the required length; settled by employed trainees only",
)
NOT_PASSED = _r("not_passed", "结业考核不合格或无考核成绩", "did not pass the final assessment (or no result)")
NO_DAYS = _r("no_days", "无核验出勤天数", "no verified attended days")
SCHEDULED_BELOW_THRESHOLD = _r(
    "scheduled_below_threshold",
    "出勤率低于按计划天数结算的门槛，按核验出勤天数计算",
    "attendance below the threshold for paying scheduled days; verified attended days used",
)
INSPECTION_PENDING = _r(
    "inspection_pending",
    "该班无打卡记录，抽验尚未完成，暂不予补贴",
    "class has no punch records and its sampling inspection has not passed yet; not payable yet",
)
NO_PRESENCE_RUN = _r(
    "no_presence_run",
    "尚未进行出勤核验（无考勤运算结果），暂不予补贴",
    "attendance not verified yet (no presence run); not payable yet",
)
INSPECTION_FAILED = _r(
    "inspection_failed",
    "该班无打卡记录且抽验不合格，不予补贴",
    "class has no punch records and its sampling inspection failed; not payable",
)
ENTERPRISE_TOO_FEW_DAYS = _r(
    "enterprise_too_few_days",
    "企业职工在岗培训不足规定天数",
    "enterprise in-job training shorter than the minimum number of days",
)
CERT_ALREADY_HELD = _r(
    "cert_already_held",
    "已取得同等级证书，非初次取证，不予补贴",
    "trainee already holds a certificate of this level; not a first certificate",
)
CERT_UNKNOWN_LEVEL = _r("cert_unknown_level", "证书等级不在补贴范围内", "certificate level not covered by the subsidy")

ALL = {r.code: r for r in (
    CAP_PER_PERSON, GENERAL_CAP, NOT_EMPLOYED, NOT_PASSED, NO_DAYS, SCHEDULED_BELOW_THRESHOLD,
    INSPECTION_PENDING, NO_PRESENCE_RUN, INSPECTION_FAILED, ENTERPRISE_TOO_FEW_DAYS, CERT_ALREADY_HELD, CERT_UNKNOWN_LEVEL,
)}


def by_code(code: str) -> Reason:
    """The reason for a stored code (claims store codes, not sentences)."""
    return ALL[code]
