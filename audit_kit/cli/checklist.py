"""`audit-kit checklist`: list, show and validate control catalogues; import OSCAL catalogs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import typer

from audit_kit.app.context import catalogue_library
from audit_kit.catalogue import FRAMEWORKS, load_catalogue_file
from audit_kit.catalogue.measure_map import apply_measure_map, find_measure_map, load_measure_map
from audit_kit.catalogue.models import Catalogue
from audit_kit.catalogue.oscal import catalogue_yaml, import_oscal
from audit_kit.cli._common import OutputFormat, emit_csv, emit_json, emit_table, stdout
from audit_kit.errors import InputError

checklist_app = typer.Typer(
    help="Control catalogues: list, show, validate, import from OSCAL.\n\nExample: audit-kit checklist show accessing-organisation",
    no_args_is_help=True,
)

FormatOption = typer.Option(OutputFormat.table, "--format", "-f", help="table, json or csv.")


@checklist_app.command("list")
def list_cmd(fmt: OutputFormat = FormatOption) -> None:
    """List the shipped catalogues with their control counts and framework mapping coverage.

    Example: audit-kit checklist list --format json
    """
    rows: list[dict[str, Any]] = []
    for c in catalogue_library().list():
        rows.append(
            {
                "id": c.id,
                "title": c.title,
                "version": c.version,
                "controls": len(c.controls),
                "domains": len(c.domains),
                "must_pass": sum(x.must_pass for x in c.controls),
                "mapping_coverage": c.mapping_coverage(),
            }
        )
    if fmt is OutputFormat.json:
        emit_json(rows)
        return
    # One column per framework: how many controls map to it.
    frameworks = [fw for fw in FRAMEWORKS if any(fw in r["mapping_coverage"] for r in rows)]
    for r in rows:
        r.update({fw: r["mapping_coverage"].get(fw, 0) for fw in frameworks})
    columns = ["id", "version", "controls", "domains", "must_pass", *frameworks]
    if fmt is OutputFormat.csv:
        emit_csv(rows, columns)
    else:
        emit_table(rows, columns, title="Checklists (controls mapped per framework)")


@checklist_app.command("show")
def show_cmd(
    checklist: str = typer.Argument(..., help="Catalogue id (e.g. accessing-organisation) or a YAML file."),
    fmt: OutputFormat = FormatOption,
) -> None:
    """Show a catalogue's controls: id, domain, answer type, weight, must-pass, mappings.

    Example: audit-kit checklist show accessing-organisation --format csv > controls.csv
    """
    cat = catalogue_library().load(checklist)
    if fmt is OutputFormat.json:
        emit_json(cat.model_dump(mode="json"))
        return
    rows = []
    for c in cat.controls:
        rows.append(
            {
                "id": c.id,
                "domain": c.domain,
                "title": c.title,
                "answer_type": c.answer_type.value,
                "weight": f"{c.weight:g}",
                "severity": c.severity.value,
                "must_pass": "yes" if c.must_pass else "",
                "log_checks": " ".join(c.log_checks),
                "tested_by": " ".join(c.tested_by()) or "-",
                "mappings": "; ".join(f"{fw}: {', '.join(ids)}" for fw, ids in c.mappings.items()),
                "question": c.question,
            }
        )
    if fmt is OutputFormat.csv:
        emit_csv(rows, list(rows[0]))
        return
    emit_table(
        rows,
        ["id", "domain", "title", "answer_type", "weight", "must_pass", "log_checks", "tested_by"],
        title=f"{cat.title} ({cat.id} {cat.version}): {len(cat.controls)} controls",
    )
    stdout.print(
        "Mapped per framework: "
        + ", ".join(f"{FRAMEWORKS[k]} {v}" for k, v in cat.mapping_coverage().items())
    )
    stdout.print(_testable_line(cat))


def _testable_line(cat: Catalogue) -> str:
    tested = [c.id for c in cat.controls if c.tested_by()]
    return (f"Tested by the logs: {len(tested)} of {len(cat.controls)} controls ({', '.join(tested) or 'none'}); "
            f"the other {len(cat.controls) - len(tested)} are not log-testable (tested_by '-').")


@checklist_app.command("validate")
def validate_cmd(file: Path = typer.Argument(..., help="Catalogue YAML file to check.")) -> None:
    """Check a catalogue file: unknown keys, duplicate ids, unknown frameworks or log checks (exit 2).

    Example: audit-kit checklist validate checklists/accessing-organisation.yaml
    """
    if not file.exists():
        raise InputError(f"{file}: no such file")
    cat = load_catalogue_file(file)
    stdout.print(
        f"{file}: ok: catalogue {cat.id} {cat.version}, {len(cat.controls)} controls in "
        f"{len(cat.domains)} domains"
    )


@checklist_app.command("import-oscal")
def import_oscal_cmd(
    catalog: Path = typer.Argument(..., help="OSCAL catalog or resolved-profile catalog (JSON)."),
    out: Path = typer.Option(..., "--output", "-o", help="Catalogue YAML file to write."),
    catalogue_id: str | None = typer.Option(None, "--id", help="Catalogue id (default: from the title)."),
    measures: str | None = typer.Option(
        None, "--measures", "-m",
        help="Measure map saying which log measures test which controls: a YAML file or a shipped map "
        "(nist-800-53-r5). Without one, no imported control is tested against the logs.",
    ),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Convert an OSCAL catalog to an audit-kit catalogue (groups become domains).

    Example: audit-kit checklist import-oscal NIST_SP-800-53_rev5_LOW-baseline-resolved-profile_catalog.json --measures nist-800-53-r5 -o checklists/nist-low.yaml --id nist-800-53-low
    """
    if not catalog.exists():
        raise InputError(f"{catalog}: no such file")
    if out.exists() and not force:
        raise InputError(f"{out}: already exists", hint="use --force to overwrite")
    map_path = find_measure_map(measures) if measures else None
    mmap = load_measure_map(map_path) if map_path else None
    result = import_oscal(catalog, catalogue_id)
    cat = result.catalogue
    mapped = apply_measure_map(cat, mmap, str(map_path)) if mmap is not None and map_path is not None else None
    if mapped is not None:
        cat = mapped.catalogue
    _write(cat, out)
    stdout.print(
        f"{out}: catalogue {cat.id}: {result.groups} groups, {result.controls} controls, "
        f"{result.enhancements} enhancements ({result.withdrawn} withdrawn skipped) in "
        f"{len(result.domains)} domains"
    )
    stdout.print(mapped.summary() if mapped is not None else
                 "no measure map (--measures): no control of this catalogue is tested against the logs")


@checklist_app.command("apply-measures")
def apply_measures_cmd(
    checklist: str = typer.Argument(..., help="Catalogue id or YAML file to give log checks to."),
    measures: str = typer.Option(..., "--measures", "-m", help="Measure map: a YAML file or a shipped map name."),
    out: Path = typer.Option(..., "--output", "-o", help="Catalogue YAML file to write."),
    force: bool = typer.Option(False, "--force", help="Overwrite an existing output file."),
) -> None:
    """Add a measure map's log checks to a catalogue's controls (e.g. one imported earlier, or your own).

    Example: audit-kit checklist apply-measures nist-low.yaml --measures nist-800-53-r5 -o nist-low-tested.yaml
    """
    if out.exists() and not force:
        raise InputError(f"{out}: already exists", hint="use --force to overwrite")
    map_path = find_measure_map(measures)
    mapped = apply_measure_map(catalogue_library().load(checklist), load_measure_map(map_path), str(map_path))
    _write(mapped.catalogue, out)
    stdout.print(f"{out}: catalogue {mapped.catalogue.id}: {len(mapped.catalogue.controls)} controls")
    stdout.print(mapped.summary())


def _write(cat: Catalogue, out: Path) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(catalogue_yaml(cat), encoding="utf-8")
    load_catalogue_file(out)  # what we wrote must load back


def register(app: typer.Typer) -> None:
    app.add_typer(checklist_app, name="checklist")
