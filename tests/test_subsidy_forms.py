"""The claim workbook re-read with openpyxl: annex 2 layout, annex 3 roster, amounts to the fen."""
from __future__ import annotations

from datetime import date
from decimal import Decimal
from io import BytesIO

from openpyxl import load_workbook

from subsidy import forms
from subsidy.claim import CertificateEvidence, ClassEvidence, TraineeEvidence, evaluate_class
from subsidy.forms import Package, RosterRow
from subsidy.rules import Rates

RATES = Rates()


def package(language: str = "zh") -> bytes:
    trainees = (
        TraineeEvidence(1, 30, contract_months=12, certificates=(CertificateEvidence("junior", "J-1", True),)),
        TraineeEvidence(2, 40, contract_months=6),
        TraineeEvidence(3, 7, contract_months=24),
        TraineeEvidence(4, 30, contract_months=12),
        TraineeEvidence(5, 30, contract_months=None),
    )
    result = evaluate_class(ClassEvidence(1, "project", 30, True, presence_run_id=7, trainees=trainees), RATES)
    roster = tuple(
        RosterRow(f"学员{t.trainee_id}", "F", "1401**********123X", "失业人员", None, t.attended_days, True,
                  "大同数据标注有限公司" if t.contract_months else None, t.contract_months,
                  tuple(l for l in result.lines if l.trainee_id == t.trainee_id), f"HT-{t.trainee_id}")
        for t in trainees)
    p = Package("大同市示范职业培训学校", "DT-001", "数据标注员班", "project", "数据标注员", date(2023, 3, 1),
                date(2023, 4, 9), RATES, roster, (("出勤核验运算", "7"),), (("2026-11-25T10:00:00", "", "draft", "ops", "v1"),))
    return forms.workbook_bytes(p, language)


def test_annex2_layout_and_amounts() -> None:
    wb = load_workbook(BytesIO(package()))
    assert wb.sheetnames == ["附件2 申请表", "附件3 人员名册", "证据摘要"]
    ws = wb["附件2 申请表"]
    assert ws["A2"].value == "职业技能提升培训（取证）补贴资金申请表"
    assert "A2:D2" in {str(r) for r in ws.merged_cells.ranges}
    labels = [ws[f"A{r}"].value for r in range(3, 10)] + [ws[f"C{r}"].value for r in (4, 5, 6, 8, 9)]
    assert labels == ["单位名称", "培训时间", "培训职业工种", "取证类别", "使用教材名称", "账户名称", "开户银行",
                      "培训方式", "培训人数", "取证人数", "账号", "开户行行号"]
    assert "B3:D3" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["B3"].value == "大同市示范职业培训学校" and ws["D5"].value == 5 and ws["D6"].value == 1
    assert ws["A10"].value == "补贴申请"
    assert [ws[f"{c}11"].value for c in "ABCD"] == ["申请补贴类型", "补贴标准", "申请补贴人数", "申请补贴资金（万元）"]
    # project: 3500 + 4000 + 1050 + 3500 (trainee 5 not employed) = 12050 CNY; junior certificate 400
    assert ws["A12"].value == "项目制培训补贴" and ws["C12"].value == 4
    assert forms.decimal_cell(ws["D12"].value) == Decimal("1.205")
    assert ws["A13"].value == "职业技能等级评价取证补贴（初级工）"
    assert ws["B13"].value == "初级工证书每人400元"
    assert ws["A14"].value == "合计" and forms.decimal_cell(ws["D14"].value) == Decimal("1.245")
    assert ws["A15"].value == "申请单位意见" and ws["C15"].value == "行业部门审核意见"
    assert ws["A16"].value == "人社部门审核意见" and ws["C16"].value == "财政部门审核意见"
    assert ws["B15"].value.startswith("签字：")


def test_annex3_roster() -> None:
    ws = load_workbook(BytesIO(package()))["附件3 人员名册"]
    assert ws["A2"].value == "申请培训（取证）补贴人员名册"
    header = [c.value for c in ws[4]]
    assert header == list(forms.ROSTER_HEADER["zh"])
    assert header[:4] == ["序号", "姓名", "性别", "公民身份号码（脱敏）"] and header[15] == "申请补贴金额（元）"
    rows = [[c.value for c in r] for r in ws.iter_rows(min_row=5, max_row=9)]
    assert [forms.decimal_cell(r[15]) for r in rows] == [Decimal("3900"), Decimal("4000"), Decimal("1050"),
                                                         Decimal("3500"), Decimal("0")]
    assert rows[0][11] == "HT-1" and rows[0][12] == "初级工" and rows[0][13] == "J-1"
    assert "超过每人最高补贴标准" in rows[1][16]
    assert "劳动合同或就业协议" in rows[4][16]
    assert all("*" in r[3] for r in rows)  # only masked IDs
    assert ws["A10"].value == "合计" and forms.decimal_cell(ws["P10"].value) == Decimal("12450")


def test_english_package() -> None:
    wb = load_workbook(BytesIO(package("en")))
    ws = wb["Annex 2 application"]
    assert ws["A11"].value == "Subsidy type" and ws["A12"].value == "project-based training"
    assert "150/day for the first 10 days" in ws["B12"].value
    assert wb["Evidence"]["A1"].value == "Evidence summary"


def test_amounts_are_written_exactly() -> None:
    # 0.000001 万元 = 1 fen: a float round-trip of the written text must keep it
    assert forms.decimal_cell(float("0.000001")) == Decimal("0.000001")
    assert str(forms.fen_to_wan(1)) == "0.000001"
