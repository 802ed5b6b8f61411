"""Typed control catalogues: `Catalogue` holds `Control`s; validated on load with pydantic.

Unknown keys, duplicate control ids, unknown frameworks and unknown log checks are errors; the
loader turns them into messages that name the file and key path (e.g. `controls[3].log_checks[0]`).
"""

from __future__ import annotations

from enum import Enum

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from audit_kit.catalogue.log_checks import KNOWN_LOG_CHECKS, MEASURES, threshold_problems
from audit_kit.models.findings import Severity

# Framework keys a control may map to, with their display names. The keys are part of the
# checklist contract: scoring reports per-framework results under these names.
FRAMEWORKS: dict[str, str] = {
    "iso27001_2022": "ISO/IEC 27001:2022 Annex A",
    "ncsc_caf": "NCSC CAF 3.2 contributing outcomes",
    "ncsc_caf_4": "NCSC CAF 4.0 contributing outcomes",
    "dspt": "NHS Data Security and Protection Toolkit (NDG standards)",
    "cyber_essentials": "Cyber Essentials technical controls",
    "nist_800_53": "NIST SP 800-53 rev5",
    "uk_gdpr": "UK GDPR articles",
    "source": "Identifier in the source catalogue (OSCAL import)",
}

ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.()\-]*$"


class AnswerType(str, Enum):
    """What kind of answer a control asks for (the checklist contract's `answer_type`)."""

    YES_NO = "yes_no"
    YES_PARTIAL_NO = "yes_partial_no"
    CHOICE = "choice"
    NUMBER = "number"
    PERCENTAGE = "percentage"
    DATE = "date"
    TEXT = "text"


class Direction(str, Enum):
    HIGHER = "higher"  # bigger numbers are better (e.g. % of staff vetted)
    LOWER = "lower"  # smaller numbers are better (e.g. days to disable a leaver)


class ScoringRule(BaseModel):
    """How a number, percentage or date answer turns into yes (1), partial (0.5) or no (0).

    number/percentage: `full` and optional `partial` thresholds, compared in `better` direction.
    date: `full` and optional `partial` are the maximum age in days of the date given.
    """

    model_config = ConfigDict(extra="forbid")

    full: float
    partial: float | None = None
    better: Direction = Direction.HIGHER


class CorroborationSpec(BaseModel):
    """How the logs test a control's answer, when the default needs changing.

    `measures`: the log measures (from the control's `log_checks`) that test the answer. Default:
    every log measure in `log_checks` with a test for the control's answer type; `[]` says the answer
    is not tested by the logs even though a measure is named (e.g. named only for what it reads).
    `thresholds`: log measure -> threshold -> value, overriding the measure's defaults for this control.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    measures: list[str] | None = None
    thresholds: dict[str, dict[str, float]] = Field(default_factory=dict)


class Control(BaseModel):
    """One control: the question asked of an organisation and how its answer is judged."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=ID_PATTERN)
    title: str = Field(min_length=1)
    domain: str = Field(min_length=1)
    question: str = Field(min_length=1)
    answer_type: AnswerType
    # choice: option -> credit (0..1). Options with no credit still score 0.
    choices: dict[str, float] | None = None
    scoring: ScoringRule | None = None
    weight: float = Field(default=1.0, gt=0, le=5)
    severity: Severity = Severity.MEDIUM
    must_pass: bool = False
    mandatory: bool = True
    evidence: str = ""
    mappings: dict[str, list[str]] = Field(default_factory=dict)
    log_checks: list[str] = Field(default_factory=list)
    corroboration: CorroborationSpec | None = None
    remediation: str = ""
    unit: str | None = None

    @field_validator("mappings")
    @classmethod
    def _known_frameworks(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for key in value:
            if key not in FRAMEWORKS:
                raise ValueError(
                    f"unknown framework {key!r}; expected one of {', '.join(sorted(FRAMEWORKS))}"
                )
        return value

    @field_validator("log_checks")
    @classmethod
    def _known_log_checks(cls, value: list[str]) -> list[str]:
        for i, check in enumerate(value):
            if check not in KNOWN_LOG_CHECKS:
                raise ValueError(
                    f"log_checks[{i}]: unknown detector or log measure {check!r} "
                    "(see audit_kit/catalogue/log_checks.py for the allowed ids)"
                )
        return value

    @field_validator("choices")
    @classmethod
    def _credits_in_range(cls, value: dict[str, float] | None) -> dict[str, float] | None:
        if value is not None:
            if not value:
                raise ValueError("choices must list at least one option")
            for option, credit in value.items():
                if not 0 <= credit <= 1:
                    raise ValueError(f"choice {option!r}: credit must be between 0 and 1, got {credit}")
        return value

    @model_validator(mode="after")
    def _type_specific(self) -> Control:
        t = self.answer_type
        if t is AnswerType.CHOICE and not self.choices:
            raise ValueError(f"{self.id}: answer_type choice needs `choices` (option: credit 0..1)")
        if t is not AnswerType.CHOICE and self.choices is not None:
            raise ValueError(f"{self.id}: `choices` is only allowed with answer_type choice")
        if self.scoring is not None and t not in (AnswerType.NUMBER, AnswerType.PERCENTAGE, AnswerType.DATE):
            raise ValueError(f"{self.id}: `scoring` is only allowed with number, percentage or date answers")
        if self.must_pass and not self.scored:
            raise ValueError(f"{self.id}: a must_pass control needs an answer that can be scored")
        self._check_corroboration()
        return self

    def _check_corroboration(self) -> None:
        spec = self.corroboration
        if spec is None:
            return
        t = self.answer_type.value
        for i, measure in enumerate(spec.measures or []):
            where = f"corroboration.measures[{i}]"
            if measure not in self.log_checks:
                raise ValueError(f"{where}: {measure!r} is not in this control's log_checks")
            m = MEASURES.get(measure)
            if m is None:
                raise ValueError(f"{where}: {measure!r} is a detector, not a log measure: detectors do not test answers")
            if m.form(t) is None:
                tests = ", ".join(m.claims) or "no answer type yet"
                raise ValueError(f"{where}: log measure {measure!r} has no test for answer_type {t} (it tests {tests})")
        tested = self.tested_by()
        for measure, values in spec.thresholds.items():
            where = f"corroboration.thresholds.{measure}"
            if measure not in tested:
                raise ValueError(f"{where}: {measure!r} does not test this control (tested by: "
                                 f"{', '.join(tested) or 'none'})")
            for name, problem in threshold_problems(measure, values):
                raise ValueError(f"{where}.{name}: {problem}")

    def tested_by(self) -> list[str]:
        """The log measures that test this control's answer, in `log_checks` order (empty: the answer is
        not log-testable). Decided by the control's own entry: its `log_checks`, its answer type and an
        optional `corroboration.measures` — never by its id."""
        if self.corroboration is not None and self.corroboration.measures is not None:
            return list(self.corroboration.measures)
        t = self.answer_type.value
        return [c for c in self.log_checks if c in MEASURES and MEASURES[c].form(t) is not None]

    @property
    def scored(self) -> bool:
        """Whether the answer contributes to the score (text, and unruled numbers, do not)."""
        if self.answer_type in (AnswerType.YES_NO, AnswerType.YES_PARTIAL_NO, AnswerType.CHOICE):
            return True
        return self.scoring is not None

    def allowed_answers(self) -> list[str]:
        """The drop-down values for this control (n/a is always allowed, with a comment)."""
        if self.answer_type is AnswerType.YES_NO:
            return ["yes", "no", "n/a"]
        if self.answer_type is AnswerType.YES_PARTIAL_NO:
            return ["yes", "partial", "no", "n/a"]
        if self.answer_type is AnswerType.CHOICE:
            return [*(self.choices or {}), "n/a"]
        return []


class Catalogue(BaseModel):
    """A control catalogue (one `checklists/*.yaml` file)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    id: str = Field(pattern=r"^[a-z0-9][a-z0-9_\-]*$")
    title: str = Field(min_length=1)
    version: str = Field(min_length=1)
    source: str = Field(min_length=1)
    description: str = ""
    controls: list[Control] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_ids(self) -> Catalogue:
        seen: dict[str, int] = {}
        for i, control in enumerate(self.controls):
            if control.id in seen:
                raise ValueError(
                    f"controls[{i}].id: duplicate control id {control.id!r} (first at controls[{seen[control.id]}])"
                )
            seen[control.id] = i
        return self

    def control(self, control_id: str) -> Control | None:
        """The control with this id, or None."""
        return self.by_id().get(control_id)

    def by_id(self) -> dict[str, Control]:
        return {c.id: c for c in self.controls}

    @property
    def domains(self) -> list[str]:
        """Domains in catalogue order."""
        return list(dict.fromkeys(c.domain for c in self.controls))

    def mapping_coverage(self) -> dict[str, int]:
        """How many controls map to each framework (frameworks with none are left out)."""
        counts: dict[str, int] = {}
        for c in self.controls:
            for fw, ids in c.mappings.items():
                if ids:
                    counts[fw] = counts.get(fw, 0) + 1
        return {fw: counts[fw] for fw in FRAMEWORKS if fw in counts}
