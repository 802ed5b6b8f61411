"""Evidence in plain words: what a detector could not give is left out, never printed as 'None'."""

from __future__ import annotations

from audit_kit.report.format import plain_evidence


def test_a_missing_value_is_left_out_of_the_evidence():
    rows = plain_evidence({"password_only_sessions": 3, "password_only_sessions_from_outside": 2,
                           "some_rate_not_known": None, "networks": 2}, restricted=True)
    assert ("Password-only sessions from outside", "2") in rows
    assert all(value != "None" and value for _, value in rows)
    assert not any(label.startswith("Some rate") for label, _ in rows)


def test_a_card_never_loses_the_users_risk_or_why_it_was_kept_low_to_the_row_limit():
    # a detector adding evidence pushed "User's risk across findings" off an after-hours card (ten rows at most)
    evidence = {f"measure_{k:02d}": k + 1 for k in range(14)} | {"user_risk": 7.5, "expected_work": "a census"}
    rows = plain_evidence(evidence, restricted=True)
    assert len(rows) == 10
    assert ("User's risk across findings", "7.5") in rows and ("Kept low as expected work", "a census") in rows
    labels = [label for label, _ in rows]
    assert labels[:8] == [f"Measure {k:02d}" for k in range(8)]  # the rest keep the evidence's order


def test_a_full_spike_card_gives_up_the_chance_models_wording_before_the_evidence():
    # stored evidence comes back in key order: the written-on share sorts last and fell off volume_spike's card
    evidence = {"bucket": "2026-10-22", "chance_model": "negative binomial: ...", "chance_probability": 0.0,
                "peer_baseline": {"group": "gp_practice / gp", "users": 5, "p99": 61.5}, "peers_spiking_same_day": 1,
                "strength": 10.2, "threshold": 61.5, "unit": "record accesses", "usual_worked_on_share": 0.274,
                "user_baseline": {"p99": 21.8, "max": 22.0}, "user_risk": 28.7, "value": 356.0,
                "worked_on_share": 0.028}
    rows = plain_evidence(evidence, restricted=True)
    labels = [label for label, _ in rows]
    assert len(rows) == 10 and "Chance model" not in labels
    assert ("Records written on that day", "3% (usually 27%)") in rows
    # the bar and what it was drawn from, side by side
    assert labels.index("Usual high (them and peers)") == labels.index("Flagged above") + 1


def test_a_card_with_room_keeps_the_chance_model():
    rows = plain_evidence({"value": 3, "chance_model": "binomial", "strength": 4.0}, restricted=True)
    assert ("Chance model", "binomial") in rows



def test_measured_values_are_never_written_in_exponent_notation():
    # a body with as many findings as users read "1e+03 access findings per 1,000 users" in its pack
    from hypothesis import given
    from hypothesis import strategies as st

    from audit_kit.report.format import sig

    assert sig(1000.0) == "1,000" and sig(200.0) == "200" and sig(3.3333) == "3.33" and sig(0.01234) == "0.0123"
    assert sig(0.0) == "0" and sig(12.5) == "12.5" and sig(0.5) == "0.5" and sig(12.0) == "12" and sig(-0.25) == "-0.25"

    @given(st.floats(min_value=-1e9, max_value=1e9, allow_nan=False))
    def never_exponent(v: float) -> None:
        text = sig(v)
        assert "e" not in text
        assert abs(float(text.replace(",", "")) - v) <= max(abs(v) * 0.006, 1e-300) or abs(v) < 1e-300

    never_exponent()
