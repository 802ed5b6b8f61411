"""Evidence in plain words: what a detector could not give is left out, never printed as 'None'."""

from __future__ import annotations

from audit_kit.report.format import plain_evidence


def test_a_missing_value_is_left_out_of_the_evidence():
    rows = plain_evidence({"password_only_sessions": 3, "password_only_sessions_from_outside": 2,
                           "some_rate_not_known": None, "networks": 2}, restricted=True)
    assert ("Password-only sessions from outside", "2") in rows
    assert all(value != "None" and value for _, value in rows)
    assert not any(label.startswith("Some rate") for label, _ in rows)

