"""`audit-kit synth` through the real CLI entry point: help, JSON summary, usage errors (exit 2)."""

from __future__ import annotations

import json

import pytest

from audit_kit.cli import run


def test_help_shows_an_example(capsys):
    assert run(["synth", "--help"]) == 0
    out = capsys.readouterr().out
    assert "Example: audit-kit synth" in out and "--adversarial" in out and "--scale" in out


def test_json_summary_matches_the_files(tmp_path, capsys):
    out = tmp_path / "world"
    code = run(
        ["synth", str(out), "--seed", "5", "--orgs", "6", "--days", "30", "--children", "1500", "-f", "json"]
    )
    assert code == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"]["seed"] == 5 and summary["organisations"] == 6
    lines = sum(len(p.read_text().splitlines()) - 1 for p in (out / "events").glob("*.csv"))
    assert lines == summary["events"]
    truth = (out / "truth.csv").read_text().splitlines()[1:]
    assert len(truth) == sum(summary["injected"].values())


def test_events_target_chooses_the_scale(tmp_path, capsys):
    args = ["synth", str(tmp_path / "w"), "--orgs", "6", "--days", "30", "--children", "1500", "-f", "json"]
    assert run([*args, "--events", "60000"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["params"]["events"] == 60000 and summary["params"]["scale"] != 1.0
    assert abs(summary["events"] - 60000) / 60000 < 0.1


def test_table_summary(tmp_path, capsys):
    assert run(["synth", str(tmp_path / "w"), "--orgs", "5", "--days", "28", "--children", "800", "-q"]) == 0
    assert "truth: vip_snooping" in capsys.readouterr().out


@pytest.mark.parametrize(
    "args, message",
    [
        (["--orgs", "2"], "--orgs 2"),
        (["--days", "10"], "--days 10"),
        (["--children", "10"], "--children 10"),
        (["--scale", "0"], "--scale 0"),
        (["--events", "5"], "--events 5"),
        (["--seed", "-1"], "--seed -1"),
        (["--end-date", "31/10/2026"], "--end-date"),
        (["--format", "csv"], "csv"),
        (["--orgs", "many"], "--orgs"),
    ],
)
def test_bad_options_exit_2_naming_the_option(tmp_path, capsys, args, message):
    assert run(["synth", str(tmp_path / "w"), *args]) == 2
    assert message in capsys.readouterr().err
    assert not (tmp_path / "w" / "events").exists()


def test_refuses_to_write_over_a_file_or_an_unrelated_directory(tmp_path, capsys):
    f = tmp_path / "notes.txt"
    f.write_text("keep me")
    assert run(["synth", str(f), "--orgs", "5"]) == 2
    assert "not a directory" in capsys.readouterr().err
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "thesis.tex").write_text("keep me")
    assert run(["synth", str(tmp_path / "other"), "--orgs", "5"]) == 2
    assert "not empty" in capsys.readouterr().err
    assert f.read_text() == "keep me" and (tmp_path / "other" / "thesis.tex").read_text() == "keep me"


def test_missing_out_argument_is_a_usage_error(capsys):
    assert run(["synth"]) == 2
