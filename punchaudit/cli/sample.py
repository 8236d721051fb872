"""`punchaudit sample`: plan, draw (open), clips, review, evaluate, close and report sampling
inspections of classes without punch records."""
from __future__ import annotations

import json
from datetime import date
from pathlib import Path

import typer
from rich.table import Table

from punchaudit.cli.common import console, engine, fail, progress, settings
from punchaudit.services import sampling as svc
from punchaudit.services import sampling_jobs, sampling_sources
from punchaudit.web import report as reports
from punchaudit.web.templating import local
from sampling.plan import Plan
from storage import sampling as repo
from storage.db import session_scope
from storage.schema.base import utcnow

app = typer.Typer(help="Sampling inspections: plan, draw, review, evaluate, report.", no_args_is_help=True)
ACTOR = "cli"

MethodOpt = typer.Option(None, "--method", help="hypergeometric (default) | binomial | poisson | iso2859")
ConfOpt = typer.Option(None, "--confidence", help="e.g. 0.95 (exact decimal)")
RateOpt = typer.Option(None, "--rate", help="tolerable rate of bad sessions, e.g. 0.10")
AccOpt = typer.Option(None, "--acceptance", "-c", help="acceptance number c")


def _show_plan(plan: Plan, severity: str = "normal") -> None:
    t = Table(show_header=False, title=f"{plan.method} plan ({severity})")
    for k, v in [("population N", plan.population), ("sample size n", plan.sample_size),
                 ("acceptance c", plan.acceptance), ("confidence", plan.confidence),
                 ("tolerable rate", plan.tolerable_rate), ("D at the limit", plan.defects),
                 ("P(accept) at the limit", f"{plan.achieved} = {plan.achieved_float:.6g}")]:
        t.add_row(k, str(v))
    for k, v in plan.conventions.items():
        t.add_row(f"convention: {k}", str(v))
    console.print(t)


@app.command()
def plan(
    class_code: str = typer.Argument(None, help="Class code (its sessions without punch records are the population)"),
    sessions: int = typer.Option(None, "--sessions", "-N", help="Plan for N sessions without looking at a class"),
    method: str = MethodOpt, confidence: str = ConfOpt, rate: str = RateOpt, acceptance: int = AccOpt,
) -> None:
    """Show the sampling plan for a class (or for N sessions), with its conventions and exact probability."""
    overrides = dict(method=method, confidence=confidence, tolerable_rate=rate, acceptance=acceptance)
    if sessions is not None:
        opts = svc.PlanOptions.from_settings(settings(), **overrides)
        try:
            _show_plan(svc.plan_for(sessions, opts))
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
        return
    if not class_code:
        raise fail("give a class code or --sessions N")
    with session_scope(engine()) as s:
        try:
            p, _pop, severity = svc.preview(s, settings(), svc.class_by_code(s, class_code).id, **overrides)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
    _show_plan(p, severity)


@app.command()
def draw(
    class_code: str = typer.Argument(..., help="Class code"),
    seed: str = typer.Option(None, "--seed", help="Seed from a public ceremony (default: generated and recorded)"),
    clips: bool = typer.Option(True, "--clips/--no-clips", help="Cut the review clips right away"),
    prescreen: bool = typer.Option(True, "--prescreen/--no-prescreen", help="Face pre-screen of each clip"),
    method: str = MethodOpt, confidence: str = ConfOpt, rate: str = RateOpt, acceptance: int = AccOpt,
) -> None:
    """Open an inspection: plan, reproducible draw, review windows, legal hold on the class's footage."""
    with session_scope(engine(), immediate=True) as s:
        try:
            row = svc.open_inspection(s, settings(), svc.class_by_code(s, class_code).id, actor=ACTOR, seed=seed,
                                      method=method, confidence=confidence, tolerable_rate=rate, acceptance=acceptance)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
        inspection_id = row.id
        _show_plan(Plan.from_json(json.loads(row.plan_json)), row.severity)
        console.print(f"inspection [bold]{row.id}[/bold]: seed {row.seed} ({row.seed_source}), "
                      f"population SHA-256 {row.population_hash}")
        console.print(f"design: {json.loads(row.draw_json)['design']}; hold: {row.hold_reference or row.hold_error}")
        tz = svc.queue(s, row.id).timezone
        for it in repo.items(s, row.id):
            console.print(f"  #{it.draw_order:>3} {it.session_key} ({it.stratum}) review window "
                          f"{local(it.window_start_utc, tz, '%H:%M:%S')}-{local(it.window_end_utc, tz, '%H:%M:%S')} {tz}")
    if clips:
        _clips(inspection_id, prescreen)


def _clips(inspection_id: int, prescreen: bool) -> None:
    with session_scope(engine()) as s:
        total = sum(1 for i in repo.items(s, inspection_id) if not i.clip_path and not i.clip_problem)
    with progress() as bar:
        task = bar.add_task("cutting clips", total=total)
        done = sampling_sources.prepare_clips(engine(), settings(), inspection_id, actor=ACTOR, prescreen=prescreen,
                                              on_item=lambda _p: bar.advance(task))
    problems = [p for p in done if p.problem]
    console.print(f"{len(done) - len(problems)} clips cut, {len(problems)} sessions without intact footage (bad by rule)")


@app.command()
def clips(
    inspection_id: int = typer.Argument(...),
    prescreen: bool = typer.Option(True, "--prescreen/--no-prescreen", help="Face pre-screen of each clip"),
) -> None:
    """Cut the review clips still missing for an inspection (resumable)."""
    _clips(inspection_id, prescreen)


@app.command()
def review(
    inspection_id: int = typer.Argument(...),
    item: int = typer.Option(None, "--item", help="Sampled session id to give a verdict on"),
    held: bool = typer.Option(None, "--held/--not-held", help="Class held as declared?"),
    head_count: int = typer.Option(None, "--head-count", min=0),
    problem: str = typer.Option(None, "--footage-problem", help="missing | unreadable | altered"),
    notes: str = typer.Option(None, "--notes"),
    inspector: str = typer.Option("cli", "--inspector", help="Your name, recorded with the verdict"),
) -> None:
    """Show the review queue; with --item and --held/--not-held, append a verdict."""
    with session_scope(engine()) as s:
        if item is not None:
            if held is None and problem is None:
                raise fail("give --held or --not-held (or --footage-problem)")
            try:
                svc.record_verdict(s, inspection_id, item, inspector=inspector, held_as_declared=bool(held),
                                   head_count=head_count, notes=notes, footage_problem=problem)
            except svc.SamplingError as exc:
                raise fail(str(exc)) from None
            s.flush()
        try:
            q = svc.queue(s, inspection_id)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
        t = Table(title=f"inspection {inspection_id}: {q.class_code} {q.class_name} ({q.inspection.status})")
        for col in ("item", "session", f"window ({q.timezone})", "clip", "pre-screen", "verdicts"):
            t.add_column(col)
        for qi in q.items:
            it = qi.item
            pre = f"max {qi.prescreen.get('max_faces')} faces, {len(qi.prescreen.get('identified', {}))} known" \
                if qi.prescreen and "error" not in qi.prescreen else ""
            verdicts = "; ".join(f"{v.inspector}: {'ok' if v.held_as_declared else 'BAD'}"
                                 + (f" ({v.footage_problem})" if v.footage_problem else "") for v in qi.verdicts)
            t.add_row(str(it.id), it.session_key,
                      f"{local(it.window_start_utc, q.timezone, '%m-%d %H:%M:%S')}-{local(it.window_end_utc, q.timezone, '%H:%M:%S')}",
                      Path(it.clip_path).name if it.clip_path else (it.clip_problem or "-"), pre, verdicts)
        console.print(t)
        console.print(f"roster: {len(q.roster)} trainees; decision so far: {q.evaluation.decision}")


@app.command()
def evaluate(inspection_id: int = typer.Argument(...)) -> None:
    """Record the decision (bad sessions against c) and the exact upper bound D_U."""
    with session_scope(engine()) as s:
        try:
            ev = svc.evaluate_inspection(s, inspection_id, actor=ACTOR)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
    _show_evaluation(ev)


def _show_evaluation(ev: svc.Evaluation) -> None:
    colour = {"pass": "green", "fail": "red"}.get(ev.decision, "yellow")
    console.print(f"decision: [{colour}]{ev.decision}[/{colour}]  bad sessions x = {ev.bad} (c = {ev.acceptance}), "
                  f"reviewed {ev.reviewed}/{ev.sample_size} of N = {ev.population}")
    console.print(f"upper bound D_U = {ev.upper_bound} bad sessions ({float(ev.upper_rate):.1%}) at "
                  f"{1 - ev.alpha} confidence: max{{D : P(X <= x | N, D, n) > alpha}}")


@app.command()
def close(inspection_id: int = typer.Argument(...)) -> None:
    """Close with the final decision: releases the legal hold, updates the institution's switching state."""
    with session_scope(engine(), immediate=True) as s:
        try:
            ev = svc.close_inspection(s, inspection_id, actor=ACTOR)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
    _show_evaluation(ev)


@app.command()
def report(
    inspection_id: int = typer.Argument(...),
    out: Path = typer.Option(None, "--out", help="Folder (default: sampling.reports_dir)"),
    lang: str = typer.Option(None, "--lang", help="zh (default) or en"),
) -> None:
    """Write the inspection report as XLSX and HTML."""
    cfg = settings()
    with session_scope(engine()) as s:
        try:
            files = reports.write_report(s, inspection_id, Path(out or cfg.sampling.reports_dir), lang or cfg.language)
        except svc.SamplingError as exc:
            raise fail(str(exc)) from None
    console.print(f"wrote {files.xlsx} and {files.html}")


@app.command("list")
def list_(status: str = typer.Option(None, "--status", help="open | closed")) -> None:
    """List inspections, newest first."""
    with session_scope(engine()) as s:
        t = Table()
        for col in ("id", "class", "kind", "status", "N", "n", "seed", "decision", "D_U"):
            t.add_column(col)
        for r in repo.list_inspections(s, status=status):
            t.add_row(str(r.id), str(r.class_id), r.kind, r.status, str(r.population_size), str(r.sample_size), r.seed,
                      r.decision or "", "" if r.upper_bound is None else str(r.upper_bound))
        console.print(t)


@app.command()
def verify(inspection_id: int = typer.Argument(...)) -> None:
    """Redo a stored draw from its population, plan and seed; fails unless it reproduces exactly."""
    with session_scope(engine()) as s:
        ok = svc.redraw_matches(s, inspection_id)
    if not ok:
        raise fail(f"inspection {inspection_id}: the stored sample does NOT reproduce from its seed and population")
    console.print(f"inspection {inspection_id}: draw reproduced exactly")


@app.command()
def monthly(day: str = typer.Option(None, "--date", help="Logical date (default: today)")) -> None:
    """Run the monthly sampling job now (due inspections and spot checks), outside the scheduler."""
    today = date.fromisoformat(day) if day else date.today()
    out = sampling_jobs.monthly_run(engine(), settings(), now=utcnow(), today=today)
    console.print_json(json.dumps(out, ensure_ascii=False))
