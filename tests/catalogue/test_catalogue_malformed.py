"""Every way a catalogue file can be wrong is reported with its key path (exit 2)."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from audit_kit.cli import run

GOOD_CONTROL = {
    "id": "X-01",
    "title": "Named accounts",
    "domain": "Access",
    "question": "Named accounts only?",
    "answer_type": "yes_no",
    "weight": 2,
    "severity": "high",
    "evidence": "account list",
    "mappings": {"ncsc_caf": ["B2.a"]},
    "log_checks": ["concurrent_sessions"],
    "remediation": "close shared ones",
}


def catalogue(**changes: object) -> dict:
    data = {"id": "mine", "title": "Mine", "version": "1", "source": "test", "controls": [dict(GOOD_CONTROL)]}
    data.update(changes)
    return data


class _NoAliasDumper(yaml.SafeDumper):
    def ignore_aliases(self, data: object) -> bool:  # the test data shares nested objects
        return True


def write(tmp_path: Path, data: object) -> Path:
    path = tmp_path / "cat.yaml"
    path.write_text(data if isinstance(data, str) else yaml.dump(data, Dumper=_NoAliasDumper))
    return path


def with_control(**changes: object) -> dict:
    control = dict(GOOD_CONTROL)
    for k, v in changes.items():
        if v is None:
            control.pop(k)
        else:
            control[k] = v
    return catalogue(controls=[control])


def test_good_catalogue_validates(tmp_path: Path, capsys) -> None:
    assert run(["checklist", "validate", str(write(tmp_path, catalogue()))]) == 0
    assert "ok: catalogue mine" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        (catalogue(colour="red"), "colour: unknown key"),
        (with_control(colour="red"), "controls[0].colour (X-01): unknown key"),
        (
            catalogue(controls=[dict(GOOD_CONTROL), dict(GOOD_CONTROL)]),
            "controls[1].id: duplicate control id 'X-01'",
        ),
        (
            with_control(log_checks=["telepathy"]),
            "controls[0].log_checks (X-01): log_checks[0]: unknown detector or log measure 'telepathy'",
        ),
        (
            with_control(mappings={"iso9001": ["1"]}),
            "controls[0].mappings (X-01): unknown framework 'iso9001'",
        ),
        (with_control(answer_type="maybe"), "controls[0].answer_type (X-01): Input should be"),
        (with_control(answer_type="choice"), "X-01: answer_type choice needs `choices`"),
        (with_control(choices={"a": 1}), "`choices` is only allowed with answer_type choice"),
        (with_control(answer_type="choice", choices={"a": 2}), "credit must be between 0 and 1"),
        (with_control(scoring={"full": 1}), "`scoring` is only allowed with number"),
        (
            with_control(answer_type="text", must_pass=True),
            "a must_pass control needs an answer that can be scored",
        ),
        (with_control(weight=9), "controls[0].weight (X-01): Input should be less than or equal to 5"),
        (
            with_control(corroboration={"measures": ["mfa_share"]}),
            "controls[0] (X-01): corroboration.measures[0]: 'mfa_share' is not in this control's log_checks",
        ),
        (
            with_control(corroboration={"measures": ["concurrent_sessions"]}),
            "corroboration.measures[0]: 'concurrent_sessions' is a detector, not a log measure",
        ),
        (
            with_control(answer_type="date", log_checks=["mfa_share"], corroboration={"measures": ["mfa_share"]}),
            "corroboration.measures[0]: log measure 'mfa_share' has no test for answer_type date "
            "(it tests yes_no, yes_partial_no, choice, percentage)",
        ),
        (
            with_control(corroboration={"thresholds": {"mfa_share": {"z": 2}}}),
            "corroboration.thresholds.mfa_share: 'mfa_share' does not test this control (tested by: none)",
        ),
        (
            with_control(log_checks=["shared_accounts"], corroboration={"thresholds": {"shared_accounts": {"n": 1}}}),
            "corroboration.thresholds.shared_accounts.n: unknown threshold for shared_accounts; known: min_accounts",
        ),
        (
            with_control(log_checks=["shared_accounts"],
                         corroboration={"thresholds": {"shared_accounts": {"min_accounts": 0}}}),
            "corroboration.thresholds.shared_accounts.min_accounts: expected 1 or more, got 0",
        ),
        (
            with_control(corroboration={"measure": ["shared_accounts"]}),
            "controls[0].corroboration.measure (X-01): unknown key",
        ),
        (with_control(severity="dire"), "controls[0].severity (X-01)"),
        (with_control(question=None), "controls[0].question (X-01): required key is missing"),
        (with_control(id="bad id!"), "controls[0].id"),
        (catalogue(controls=[]), "controls: List should have at least 1 item"),
        ({"id": "mine"}, "title: required key is missing"),
        ("- just\n- a list\n", "a catalogue must be a YAML mapping"),
        ("id: [unclosed\n", "not valid YAML"),
        ("base: &a {id: x}\nother: *a\n", "not allowed"),
    ],
)
def test_malformed_catalogue_names_the_key(tmp_path: Path, capsys, data: object, expected: str) -> None:
    assert run(["checklist", "validate", str(write(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    assert "cat.yaml" in err
    assert expected in err


def test_all_problems_are_reported_at_once(tmp_path: Path, capsys) -> None:
    bad = dict(GOOD_CONTROL, log_checks=["nope"], colour="red")
    data = catalogue(controls=[bad, dict(GOOD_CONTROL, id="X-02", weight=0)], extra_top=1)
    assert run(["checklist", "validate", str(write(tmp_path, data))]) == 2
    err = capsys.readouterr().err
    assert "4 problem(s)" in err
    for part in ("extra_top", "controls[0].colour", "controls[0].log_checks", "controls[1].weight (X-02)"):
        assert part in err


def test_missing_file_and_oversized_file(tmp_path: Path, capsys) -> None:
    assert run(["checklist", "validate", str(tmp_path / "absent.yaml")]) == 2
    big = tmp_path / "big.yaml"
    big.write_text("# " + "x" * (6 * 1024 * 1024))
    assert run(["checklist", "validate", str(big)]) == 2
    assert "limited to" in capsys.readouterr().err


def test_alias_bomb_refused_quickly(tmp_path: Path, capsys) -> None:
    lines = ['a0: &a0 ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]']
    for i in range(1, 12):
        lines.append(f"a{i}: &a{i} [" + ",".join([f"*a{i - 1}"] * 9) + "]")
    path = tmp_path / "bomb.yaml"
    path.write_text("\n".join(lines) + "\n")
    start = time.perf_counter()
    assert run(["checklist", "validate", str(path)]) == 2
    assert time.perf_counter() - start < 2
    assert "not allowed" in capsys.readouterr().err
