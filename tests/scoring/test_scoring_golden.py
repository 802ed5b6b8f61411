"""Golden scoring cases, computed by hand from docs/scoring.md (weights, n/a, partial, must-pass cap,
confidence, corroboration), on a five-control catalogue so every number can be checked on paper."""

from __future__ import annotations

from datetime import date

import pytest

from audit_kit.catalogue import Catalogue, parse_catalogue
from audit_kit.models.questionnaire import Answer
from audit_kit.scoring import (
    Corroboration,
    CorroborationStatus,
    DsptStatus,
    credit_for,
    score_answers,
)

AS_OF = date(2026, 6, 30)


def catalogue() -> Catalogue:
    def ctl(cid: str, domain: str, answer_type: str, weight: float, caf: list[str], **extra: object) -> dict:
        return {
            "id": cid,
            "title": cid,
            "domain": domain,
            "question": f"{cid}?",
            "answer_type": answer_type,
            "weight": weight,
            "mappings": {"ncsc_caf": caf, "dspt": ["S4"]},
            **extra,
        }

    return parse_catalogue(
        {
            "id": "golden",
            "title": "Golden",
            "version": "1",
            "source": "test",
            "controls": [
                ctl("A", "D1", "yes_partial_no", 2, ["B2.a"]),
                ctl(
                    "B",
                    "D1",
                    "yes_no",
                    1,
                    ["B2.a"],
                    must_pass=True,
                    mappings={"ncsc_caf": ["B2.a"], "cyber_essentials": ["UAC"]},
                ),
                ctl(
                    "C",
                    "D2",
                    "percentage",
                    3,
                    ["C1.a"],
                    scoring={"full": 100, "partial": 90},
                    mappings={"ncsc_caf": ["C1.a"], "cyber_essentials": ["UAC"]},
                ),
                ctl("D", "D2", "date", 2, ["C1.a"], scoring={"full": 365, "partial": 730}),
                ctl("E", "D3", "yes_partial_no", 2, ["D1.a"]),
            ],
        },
        "golden",
    )


def ans(cid: str, answer: str, value: float | None = None, evidence: str = "", comment: str = "") -> Answer:
    return Answer(cid, answer, value, evidence, comment)


BASE = {
    "A": ans("A", "partial"),  # 0.5 × 2
    "B": ans("B", "yes"),  # 1 × 1
    "C": ans("C", "100", 100.0),  # 1 × 3
    "D": ans("D", "2025-06-01"),  # 394 days old: 0.5 × 2
    "E": ans("E", "n/a", comment="no such service"),  # excluded
}


def answers(**changes: Answer | None) -> list[Answer]:
    merged = dict(BASE, **changes)
    return [a for a in merged.values() if a is not None]


def test_partial_and_na_weighted() -> None:
    s = score_answers(catalogue(), answers(), AS_OF, "ORG")
    # (2×0.5 + 1×1 + 3×1 + 2×0.5) / (2+1+3+2) = 6/8
    assert s.raw_score == s.overall == 75.0
    assert s.status is DsptStatus.APPROACHING
    assert s.must_pass_failed == []
    assert {d.domain: d.score for d in s.domains} == {"D1": 66.7, "D2": 80.0, "D3": None}
    caf = {r.requirement: (r.score, r.outcome) for r in s.frameworks["ncsc_caf"].requirements}
    # B2.a: (2×0.5 + 1×1)/3 = 66.7; C1.a: (3×1 + 2×0.5)/5 = 80; D1.a only n/a
    assert caf == {
        "B2.a": (66.7, "Partially achieved"),
        "C1.a": (80.0, "Partially achieved"),
        "D1.a": (None, "Not applicable"),
    }
    assert s.gaps == 2  # A partial, D old
    # Assured: every answer claimed (factor 0.6): 0.6 × 75
    assert s.assured_score == 45.0


def test_must_pass_failure_caps_the_outcome() -> None:
    s = score_answers(catalogue(), answers(B=ans("B", "no")), AS_OF, "ORG")
    # (1 + 0 + 3 + 1) / 8 = 62.5, capped at 50
    assert s.raw_score == 62.5 and s.overall == 50.0
    assert s.must_pass_failed == ["B"] and s.status is DsptStatus.NOT_MET
    caf = {r.requirement: r.outcome for r in s.frameworks["ncsc_caf"].requirements}
    assert caf["B2.a"] == "Not achieved"  # (1 + 0)/3 = 33.3
    assert {r.requirement: r.outcome for r in s.frameworks["cyber_essentials"].requirements} == {
        "UAC": "Fail"
    }


def test_missing_must_pass_answer_fails_and_scores_zero() -> None:
    s = score_answers(catalogue(), answers(B=None), AS_OF, "ORG")
    assert s.raw_score == 62.5 and s.must_pass_failed == ["B"]
    assert next(c for c in s.controls if c.control_id == "B").status.value == "missing"


def test_contradicted_answer_counts_as_no() -> None:
    corr = {
        ("ORG", "C"): Corroboration(
            status=CorroborationStatus.CONTRADICTED,
            detail="62% of sessions single-factor",
            sources=["mfa_share"],
        )
    }
    s = score_answers(catalogue(), answers(), AS_OF, "ORG", corr)
    # (1 + 1 + 0 + 1)/8 = 37.5
    assert s.overall == 37.5 and s.status is DsptStatus.NOT_MET
    c = next(c for c in s.controls if c.control_id == "C")
    assert (
        c.credit == 0.0 and c.confidence.value == "contradicted" and c.corroboration.detail.startswith("62%")
    )
    assert {r.requirement: r.outcome for r in s.frameworks["cyber_essentials"].requirements} == {
        "UAC": "Fail"
    }
    # another organisation's corroboration does not apply
    other = score_answers(catalogue(), answers(), AS_OF, "OTHER", corr)
    assert other.overall == 75.0


def test_confidence_levels_and_exceeded() -> None:
    full = answers(A=ans("A", "yes", evidence="policy.pdf"), D=ans("D", "2026-01-01"))
    corr = {("ORG", "B"): Corroboration(status=CorroborationStatus.CORROBORATED)}
    s = score_answers(catalogue(), full, AS_OF, "ORG", corr)
    assert s.overall == 100.0
    # assured: A evidenced 2×0.8, B corroborated 1×1, C claimed 3×0.6, D claimed 2×0.6 → 5.6/8
    assert s.assured_score == 70.0
    assert s.confidence == {"evidenced": 1, "corroborated": 1, "claimed": 2}
    assert s.status is DsptStatus.MET  # claimed answers keep it from Exceeded
    all_evidenced = [Answer(a.control_id, a.answer, a.value, "doc.pdf", a.comment) for a in full]
    s2 = score_answers(catalogue(), all_evidenced, AS_OF, "ORG")
    assert s2.overall == 100.0 and s2.status is DsptStatus.EXCEEDED and s2.assured_score == 80.0
    assert {r.outcome for r in s2.frameworks["ncsc_caf"].requirements} == {"Achieved", "Not applicable"}


def test_no_evidence_status_leaves_the_answer_as_claimed() -> None:
    corr = {("ORG", "A"): Corroboration(status=CorroborationStatus.NO_EVIDENCE)}
    s = score_answers(catalogue(), answers(), AS_OF, "ORG", corr)
    assert (
        s.overall == 75.0 and next(c for c in s.controls if c.control_id == "A").confidence.value == "claimed"
    )


@pytest.mark.parametrize(
    ("rule", "value", "credit"),
    [
        ({"full": 1, "partial": 7, "better": "lower"}, 1, 1.0),
        ({"full": 1, "partial": 7, "better": "lower"}, 7, 0.5),
        ({"full": 1, "partial": 7, "better": "lower"}, 8, 0.0),
        ({"full": 100, "partial": 95}, 96, 0.5),
        ({"full": 100, "partial": 95}, 94.9, 0.0),
        ({"full": 6}, 5, 0.0),  # no partial threshold: all or nothing
    ],
)
def test_number_thresholds(rule: dict, value: float, credit: float) -> None:
    cat = parse_catalogue(
        {
            "id": "n",
            "title": "n",
            "version": "1",
            "source": "t",
            "controls": [
                {
                    "id": "N",
                    "title": "N",
                    "domain": "D",
                    "question": "?",
                    "answer_type": "number",
                    "scoring": rule,
                }
            ],
        },
        "n",
    )
    assert credit_for(cat.controls[0], ans("N", f"{value:g}", float(value)), AS_OF) == credit


def test_choice_credit_and_date_edges() -> None:
    cat = parse_catalogue(
        {
            "id": "c",
            "title": "c",
            "version": "1",
            "source": "t",
            "controls": [
                {
                    "id": "M",
                    "title": "M",
                    "domain": "D",
                    "question": "?",
                    "answer_type": "choice",
                    "choices": {"weekly": 1, "monthly": 0.5, "never": 0},
                },
                {
                    "id": "T",
                    "title": "T",
                    "domain": "D",
                    "question": "?",
                    "answer_type": "date",
                    "scoring": {"full": 365, "partial": 730},
                },
            ],
        },
        "c",
    )
    m, t = cat.controls
    assert credit_for(m, ans("M", "monthly"), AS_OF) == 0.5
    assert credit_for(t, ans("T", "2025-06-30"), AS_OF) == 1.0  # exactly 365 days
    assert credit_for(t, ans("T", "2025-06-29"), AS_OF) == 0.5
    assert credit_for(t, ans("T", "2024-06-29"), AS_OF) == 0.0  # 731 days
    s = score_answers(cat, [ans("M", "monthly"), ans("T", "2026-06-01")], AS_OF, "O")
    assert s.overall == 75.0  # (0.5 + 1)/2, weights 1
