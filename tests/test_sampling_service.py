"""The inspection use case on a real migrated database: open (hold), verdicts, evaluate, close,
reproducible draw, append-only verdicts, switching state."""
from __future__ import annotations

import json
from fractions import Fraction

import pytest
from sqlalchemy import Engine, select, text
from sqlalchemy.exc import DatabaseError

from punchaudit.config import load_settings
from punchaudit.services import sampling as svc
from sampling.plan import hypergeometric_plan
from sampling.switching import SwitchingState
from storage import sampling as repo
from storage.db import session_scope
from storage.schema.sampling import SamplingItem
from tests.sampling_testkit import make_class
from tests.seed import seed


@pytest.fixture
def world(engine: Engine):  # type: ignore[no-untyped-def]
    seeded = seed(engine)
    class_id, pop = make_class(engine, seeded.institution_id, seeded.site_id)
    return engine, seeded, class_id, pop


@pytest.mark.postgres
def test_open_review_evaluate_close(world) -> None:  # type: ignore[no-untyped-def]
    engine, seeded, class_id, pop = world
    settings = load_settings()
    with session_scope(engine) as s:
        row = svc.open_inspection(s, settings, class_id, actor="tester", population=pop, seed="20260401")
        inspection_id = row.id
        assert row.population_size == 40 and row.seed_source == "given"
        plan = json.loads(row.plan_json)
        assert plan["sample_size"] == hypergeometric_plan(40).sample_size
        assert row.sample_size >= plan["sample_size"]  # stratified: n may be raised for the worst case
        assert json.loads(row.draw_json)["design"].startswith("stratified")
        assert row.hold_error is None
        holds = s.execute(text("SELECT reference, released_at FROM legal_hold WHERE class_id = :c"), {"c": class_id}).all()
        assert holds == [(f"sampling:{inspection_id}", None)]
        with pytest.raises(svc.Invalid, match="already has an open"):
            svc.open_inspection(s, settings, class_id, actor="tester", population=pop)
    with session_scope(engine) as s:
        assert svc.redraw_matches(s, inspection_id)
        items = repo.items(s, inspection_id)
        weeks = {i.stratum for i in items}
        assert len(weeks) == 4  # spans the four weeks of the course
        for i in items:
            assert i.start_utc <= i.window_start_utc < i.window_end_utc <= i.end_utc
        q = svc.queue(s, inspection_id)
        assert len(q.roster) == 5 and q.evaluation.decision == "incomplete"
        for i in items:
            svc.record_verdict(s, inspection_id, i.id, inspector="ann", held_as_declared=True, head_count=5)
        # a second inspector disagrees on one session: stored next to the first, and it counts
        svc.record_verdict(s, inspection_id, items[0].id, inspector="bob", held_as_declared=False, notes="空教室")
        ev = svc.evaluate_inspection(s, inspection_id, actor="ann")
        assert ev.decision == "fail" and ev.bad == 1 and ev.disputed_items == (items[0].id,)
        assert len(repo.verdicts(s, inspection_id)) == len(items) + 1
    with session_scope(engine) as s:
        ev = svc.close_inspection(s, inspection_id, actor="ann")
        assert ev.decision == "fail"
        row = repo.get(s, inspection_id)
        assert row.status == "closed" and row.decision == "fail" and row.upper_bound == ev.upper_bound
        released = s.execute(text("SELECT released_at FROM legal_hold WHERE class_id = :c"), {"c": class_id}).scalar()
        assert released is not None
        assert repo.switching(s, seeded.institution_id).normal_window == (False,)
        with pytest.raises(svc.Invalid, match="closed"):
            svc.record_verdict(s, inspection_id, items[0].id, inspector="ann", held_as_declared=True)


@pytest.mark.postgres
def test_verdicts_are_append_only_in_the_database(world) -> None:  # type: ignore[no-untyped-def]
    engine, seeded, class_id, pop = world
    with session_scope(engine) as s:
        row = svc.open_inspection(s, load_settings(), class_id, actor="t", population=pop)
        item = s.scalar(select(SamplingItem).where(SamplingItem.inspection_id == row.id).limit(1))
        svc.record_verdict(s, row.id, item.id, inspector="ann", held_as_declared=True)
        svc.evaluate_inspection(s, row.id, actor="ann")
    for stmt in ("UPDATE sampling_verdict SET held_as_declared = false", "DELETE FROM sampling_verdict",
                 "UPDATE sampling_decision SET decision = 'pass'", "DELETE FROM sampling_decision"):
        with pytest.raises(DatabaseError, match="append-only"):
            with session_scope(engine) as s:
                s.execute(text(stmt))


def test_footage_problem_counts_as_bad_and_incomplete_cannot_close(world) -> None:  # type: ignore[no-untyped-def]
    engine, seeded, class_id, pop = world
    with session_scope(engine) as s:
        row = svc.open_inspection(s, load_settings(), class_id, actor="t", population=pop[:8])  # N 8 -> census
        items = repo.items(s, row.id)
        assert len(items) == 8 and json.loads(row.draw_json)["design"] == "census"
        with pytest.raises(svc.Invalid, match="without a verdict"):
            svc.close_inspection(s, row.id, actor="t")
    with session_scope(engine) as s:
        for i in items[:-1]:
            svc.record_verdict(s, row.id, i.id, inspector="ann", held_as_declared=True)
        v = svc.record_verdict(s, row.id, items[-1].id, inspector="ann", held_as_declared=True, footage_problem="altered")
        assert v.held_as_declared is False
        with pytest.raises(svc.Invalid):
            svc.record_verdict(s, row.id, items[0].id, inspector="ann", held_as_declared=True, footage_problem="blurry")
        ev = svc.close_inspection(s, row.id, actor="ann")
        assert ev.decision == "fail" and ev.upper_bound == 1  # census: exactly the one bad session


def test_reproducible_with_generated_seed_and_tamper_detection(world) -> None:  # type: ignore[no-untyped-def]
    engine, seeded, class_id, pop = world
    settings = load_settings(sampling={"stratify_by_week": False})
    with session_scope(engine) as s:
        row = svc.open_inspection(s, settings, class_id, actor="t", population=pop)
        assert row.seed_source == "generated" and len(row.seed) == 20
        assert json.loads(row.draw_json)["design"].startswith("simple random")
        assert svc.redraw_matches(s, row.id)
        item = repo.items(s, row.id)[0]
        item.session_key = "2026-01-01/0"  # someone swaps a sampled session
        s.flush()
        assert not svc.redraw_matches(s, row.id)


def test_iso_plans_are_drawn_as_printed_and_tightened_institutions_get_stricter_plans(world) -> None:  # type: ignore[no-untyped-def]
    engine, seeded, class_id, pop = world
    settings = load_settings()
    with session_scope(engine) as s:
        row = svc.open_inspection(s, settings, class_id, actor="t", population=pop, method="iso2859")
        assert row.sample_size == 5 and json.loads(row.draw_json)["design"].startswith("simple random")
        tightened = SwitchingState(severity="tightened")
        repo.save_switching(s, seeded.institution_id, tightened, None)
        plan, _, severity = svc.preview(s, settings, class_id, population=pop)
        assert severity == "tightened" and plan.tolerable_rate == Fraction(1, 20)
        assert plan.sample_size == hypergeometric_plan(40, tolerable_rate="0.05").sample_size
        repo.save_switching(s, seeded.institution_id, SwitchingState(severity="discontinued"), None)
        with pytest.raises(svc.Invalid, match="discontinued"):
            svc.preview(s, settings, class_id, population=pop)


def test_anyone_can_redraw_from_the_stored_seed_and_population(world) -> None:  # type: ignore[no-untyped-def]
    """An auditor's few lines, independent of sampling.select: hash the population, split it by ISO
    week, and run Rivest's sampler per week with the stored seed and allocation."""
    import hashlib
    from datetime import date as date_

    engine, seeded, class_id, pop = world
    with session_scope(engine) as s:
        row = svc.open_inspection(s, load_settings(), class_id, actor="t", population=pop)
        population = json.loads(row.population_json)
        draw = json.loads(row.draw_json)
        stored = {i.session_key for i in repo.items(s, row.id)}
        seed, population_hash = row.seed, row.population_hash
    keys = [p["key"] for p in population]
    assert hashlib.sha256("".join(k + "\n" for k in keys).encode()).hexdigest() == population_hash
    weeks: dict[str, list[str]] = {}
    for k in keys:
        y, w, _ = date_.fromisoformat(k.split("/")[0]).isocalendar()
        weeks.setdefault(f"{y}-W{w:02d}", []).append(k)
    redrawn = set()
    for label, count in zip(draw["strata"], draw["allocation"]):
        members, picked, i = weeks[label], [], 0
        while len(picked) < count:
            i += 1
            pos = int(hashlib.sha256(f"{seed}/{label},{i}".encode()).hexdigest(), 16) % len(members) + 1
            if pos not in picked:
                picked.append(pos)
        redrawn |= {members[p - 1] for p in picked}
    assert redrawn == stored
