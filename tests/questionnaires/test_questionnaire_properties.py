"""Property tests for answer parsing: any text is either accepted as a valid answer or rejected with a
message, never an exception; accepted answers round-trip through their normalised form."""

from __future__ import annotations

import math
from datetime import date

from hypothesis import given, settings
from hypothesis import strategies as st

from audit_kit.catalogue import load_catalogue
from audit_kit.models.questionnaire import Location, RawAnswer
from audit_kit.questionnaires.validate import check_answer

CONTROLS = load_catalogue("accessing-organisation").controls
SUBMITTED = date(2026, 3, 31)

values = st.one_of(
    st.text(max_size=30),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
    st.dates(),
    st.none(),
    st.sampled_from(["yes", "No", "partial", "n/a", "95%", "weekly"]),
)


@settings(max_examples=300, deadline=None)
@given(control=st.sampled_from(CONTROLS), value=values, comment=st.sampled_from(["", "not relevant"]))
def test_any_value_is_accepted_or_explained(control, value, comment) -> None:
    answer, error = check_answer(control, RawAnswer(control.id, value, "", comment, Location("f")), SUBMITTED)
    assert (answer is None) != (error is None)
    if answer is not None:
        if answer.value is not None:
            assert math.isfinite(answer.value) and answer.value >= 0
        # the normalised answer is itself acceptable and normalises to the same thing
        again, error2 = check_answer(
            control, RawAnswer(control.id, answer.answer, "", comment, Location("f")), SUBMITTED
        )
        assert error2 is None and again is not None and again.answer == answer.answer
    else:
        assert isinstance(error, str) and error
