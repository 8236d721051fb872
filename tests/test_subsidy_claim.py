"""A class's claim from its evidence: employment condition, inspection gate, cap, certificates."""
from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from subsidy.claim import CertificateEvidence, ClassEvidence, TraineeEvidence, evaluate_class
from subsidy.rules import Rates

RATES = Rates()


def trainees(days: list[int], employed: int, passed: int | None = None) -> tuple[TraineeEvidence, ...]:
    """`employed` first trainees hold a 12-month contract; the first `passed` passed (all by default)."""
    passed = len(days) if passed is None else passed
    return tuple(TraineeEvidence(i + 1, d, passed=i < passed, contract_months=12 if i < employed else None)
                 for i, d in enumerate(days))


def project(days: list[int], employed: int, **kw) -> ClassEvidence:  # type: ignore[no-untyped-def]
    kw.setdefault("has_punch_records", True)
    return ClassEvidence(1, "project", 30, trainees=trainees(days, employed), **kw)


def test_rate_reached_pays_employed_trainees_in_full() -> None:
    result = evaluate_class(project([30, 40, 10, 5, 30], employed=4), RATES)
    assert result.employment_rate == Fraction(4, 5) and result.employment_met
    amounts = [line.amount_fen for line in result.lines]
    assert amounts == [350000, 400000, 150000, 75000, 0]
    assert [r.code for r in result.lines[1].reasons] == ["cap_per_person"]
    assert [r.code for r in result.lines[4].reasons] == ["not_employed"]
    assert result.total_fen == 975000


def test_rate_just_below_pays_general_subsidy() -> None:
    # 7 of 9 = 77.8% < 80%
    result = evaluate_class(project([30] * 9, employed=7), RATES)
    assert not result.employment_met
    assert [r.code for r in result.class_reasons] == ["general_cap"]
    assert all(line.amount_fen == 100000 and line.base_fen == 350000 for line in result.lines)
    assert all(line.kind == "general" for line in result.lines)
    assert result.total_fen == 900000


def test_general_subsidy_keeps_smaller_amounts() -> None:
    result = evaluate_class(project([5, 30], employed=0), RATES)
    assert [line.amount_fen for line in result.lines] == [75000, 100000]


def test_failed_trainees_are_outside_the_rate_and_unpaid() -> None:
    ev = ClassEvidence(1, "project", 30, True, trainees=trainees([30] * 5, employed=4, passed=4))
    result = evaluate_class(ev, RATES)
    assert result.passed == 4 and result.employed == 4 and result.employment_rate == 1
    assert [r.code for r in result.lines[4].reasons] == ["not_passed"]
    assert result.lines[4].amount_fen == 0


def test_settle_all_passed_when_configured() -> None:
    rates = Rates(settle_employed_only=False)
    result = evaluate_class(project([30] * 5, employed=4), rates)
    assert result.total_fen == 5 * 350000


def test_no_punch_records_needs_a_passed_inspection() -> None:
    pending = evaluate_class(project([0] * 3, employed=3, has_punch_records=False, presence_run_id=5), RATES)
    assert not pending.payable and pending.total_fen == 0
    assert [r.code for r in pending.class_reasons] == ["inspection_pending"]
    unverified = evaluate_class(project([0] * 3, employed=3, has_punch_records=False), RATES)
    assert [r.code for r in unverified.class_reasons] == ["no_presence_run"] and unverified.total_fen == 0
    failed = evaluate_class(project([0] * 3, employed=3, has_punch_records=False, inspection_decision="fail"), RATES)
    assert failed.total_fen == 0
    assert all("inspection_failed" in [r.code for r in line.reasons] for line in failed.lines)
    passed = evaluate_class(project([0] * 3, employed=3, has_punch_records=False, inspection_decision="pass"), RATES)
    assert passed.payable and passed.days_from_schedule
    assert passed.total_fen == 3 * 350000  # the 30 scheduled days


def test_enterprise_class() -> None:
    ev = ClassEvidence(2, "enterprise", 3, True, trainees=(TraineeEvidence(1, 3), TraineeEvidence(2, 2)))
    result = evaluate_class(ev, RATES)
    assert [line.amount_fen for line in result.lines] == [30000, 0]
    assert result.employment_met is None


def test_certificates_are_lines_of_their_own() -> None:
    certs = (CertificateEvidence("junior", "C1", True), CertificateEvidence("intermediate", "C2", False))
    ev = ClassEvidence(3, "certification", 0, False, trainees=(TraineeEvidence(1, 0, certificates=certs),))
    result = evaluate_class(ev, RATES)
    assert result.payable  # certificates do not depend on attendance evidence
    assert [(line.level, line.amount_fen) for line in result.lines] == [("junior", 40000), ("intermediate", 0)]
    assert result.lines[1].reasons[0].code == "cert_already_held"


trainee_st = st.builds(
    TraineeEvidence, trainee_id=st.integers(1, 10**6), attended_days=st.integers(0, 60), passed=st.booleans(),
    contract_months=st.one_of(st.none(), st.integers(1, 36)),
    certificates=st.lists(st.builds(CertificateEvidence, level=st.sampled_from(["junior", "intermediate", "senior"]),
                                    certificate_no=st.text(min_size=1, max_size=5), first_time=st.booleans()),
                          max_size=2).map(tuple))
class_st = st.builds(ClassEvidence, class_id=st.just(1), kind=st.sampled_from(["project", "enterprise", "certification"]),
                     scheduled_days=st.integers(0, 60), has_punch_records=st.booleans(),
                     inspection_decision=st.sampled_from([None, "pass", "fail"]),
                     trainees=st.lists(trainee_st, max_size=12).map(tuple))


@given(class_st)
def test_every_reduction_has_a_reason_and_no_line_exceeds_its_cap(ev: ClassEvidence) -> None:
    result = evaluate_class(ev, RATES)
    for line in result.lines:
        assert 0 <= line.amount_fen <= line.base_fen
        assert isinstance(line.amount_fen, int)
        if line.amount_fen < line.base_fen or line.amount_fen == 0:
            assert line.reasons, line
        cap = {"project": RATES.per_person_cap_fen, "general": RATES.general_cap_fen,
               "enterprise": RATES.enterprise_fen, "certification": RATES.cert_senior_fen}[line.kind]
        assert line.amount_fen <= cap
    if not result.payable:
        assert all(line.amount_fen == 0 for line in result.lines if line.kind != "certification")
    assert result.total_fen == sum(line.amount_fen for line in result.lines)


def test_inspection_pass_credits_only_days_without_records() -> None:
    # 20 scheduled days, 15 of them with punch records: a trainee present on 10 of those gets 10 + 5
    ev = ClassEvidence(1, "project", 20, False, inspection_decision="pass", days_without_records=5,
                       trainees=(TraineeEvidence(1, 10, contract_months=12), TraineeEvidence(2, 15, contract_months=12)))
    result = evaluate_class(ev, RATES)
    assert [line.days for line in result.lines] == [15, 20]
    assert [line.amount_fen for line in result.lines] == [200000, 250000]


def test_a_refused_class_shows_what_was_refused() -> None:
    ev = ClassEvidence(1, "project", 20, False, inspection_decision="fail", days_without_records=20,
                       trainees=(TraineeEvidence(1, 0, contract_months=12),))
    [line] = evaluate_class(ev, RATES).lines
    assert (line.days, line.base_fen, line.amount_fen) == (20, 250000, 0)
    assert [r.code for r in line.reasons] == ["inspection_failed"]
