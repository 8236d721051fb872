"""`punchaudit trainee`: trainees and their enrolments. Resident IDs are asked for without echo and
are stored only masked and hashed."""
from __future__ import annotations

import typer

from punchaudit.cli.admin import registry_session, resident_id_option, secret, table
from punchaudit.cli.common import console
from punchaudit.services import registry_people as people

app = typer.Typer(help="Trainees and enrolments (resident IDs are stored masked and hashed only).", no_args_is_help=True)


@app.command("add")
def add(
    name: str = typer.Argument(..., help="Name as on the resident ID card"),
    resident_id: str = resident_id_option(),
    phone: str = typer.Option(None, "--phone", help="Contact phone"),
    target_group: str = typer.Option(None, "--group", help="人员类别, e.g. 脱贫劳动力"),
) -> None:
    """Register a trainee."""
    with registry_session() as session:
        row = people.register_trainee(session, None, secret(), name, resident_id, phone=phone, target_group=target_group)
        console.print(f"trainee {row.id} {row.name} {row.id_masked} registered")


@app.command("enroll")
def enroll(
    class_code: str = typer.Argument(..., help="Class code"),
    pin: str = typer.Argument(..., help="The trainee's PIN (工号) on the site's terminals"),
    trainee_id: int = typer.Option(None, "--trainee", help="Trainee id (otherwise give the resident ID)"),
    resident_id: str = typer.Option(None, "--resident-id", hide_input=True, help="Resident ID instead of --trainee"),
    name: str = typer.Option(None, "--name", help="With --resident-id: registers the person if unknown"),
) -> None:
    """Enrol a trainee in a class under a terminal PIN."""
    if trainee_id is None and resident_id is None:
        resident_id = typer.prompt("Resident ID", hide_input=True)
    with registry_session() as session:
        cls = people.class_by_code(session, None, class_code)
        row = people.enroll(session, None, secret(), cls.id, pin, trainee_id=trainee_id, resident_id=resident_id, name=name)
        console.print(f"trainee {row.trainee_id} enrolled in {cls.code} as PIN {row.pin}")


@app.command("find")
def find(resident_id: str = resident_id_option()) -> None:
    """Find a trainee by resident ID."""
    with registry_session() as session:
        row = people.find_trainee(session, None, secret(), resident_id)
        console.print(f"trainee {row.id} {row.name} {row.id_masked}")


@app.command("list")
def list_(
    class_code: str = typer.Option(None, "--class", help="Only this class's trainees, with their PINs"),
    limit: int = typer.Option(1000, help="At most this many rows"),
) -> None:
    """List trainees (masked IDs), or a class roster with PINs."""
    with registry_session() as session:
        if class_code:
            cls = people.class_by_code(session, None, class_code)
            page = people.list_enrollments(session, None, class_id=cls.id, limit=limit)
            table(f"class {cls.code}", ["PIN", "trainee", "name", "resident ID"],
                  ((e.pin, t.id, t.name, t.id_masked) for e, t, _ in page.items))
            return
        page = people.list_trainees(session, None, limit=limit)
        table("trainees", ["id", "name", "resident ID", "gender", "born"],
              ((r.id, r.name, r.id_masked, r.gender, r.birth_date) for r in page.items))
