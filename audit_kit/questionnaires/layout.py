"""The questionnaire file layouts shared by the template writers and the readers."""

from __future__ import annotations

# Excel workbook ----------------------------------------------------------------------------------
SHEET_INSTRUCTIONS = "Instructions"
SHEET_ABOUT = "About"
SHEET_ANSWERS = "Answers"
SHEET_LISTS = "Lists"  # hidden: drop-down options for choice controls

# About sheet: label in column A, value in column B, in this order from row 2.
ABOUT_FIELDS: list[tuple[str, str]] = [
    ("org_id", "Organisation ID"),
    ("checklist", "Checklist"),
    ("checklist_version", "Checklist version"),
    ("submitted", "Date submitted"),
    ("respondent_name", "Respondent name"),
    ("respondent_role", "Respondent role"),
    ("respondent_email", "Respondent email"),
]

# Answers sheet: header row 1, one control per row from row 2.
ANSWER_COLUMNS: list[tuple[str, str]] = [
    ("control_id", "Control ID"),
    ("domain", "Domain"),
    ("title", "Control"),
    ("question", "Question"),
    ("answer_type", "Answer type"),
    ("must_pass", "Must pass"),
    ("evidence_requested", "Evidence requested"),
    ("answer", "Answer"),
    ("evidence", "Evidence supplied"),
    ("comment", "Comment"),
]
EDITABLE = ("answer", "evidence", "comment")

# CSV -----------------------------------------------------------------------------------------------
CSV_REQUIRED = ("org_id", "control_id", "answer")
CSV_OPTIONAL = (
    "evidence",
    "comment",
    "checklist",
    "submitted",
    "respondent_name",
    "respondent_role",
    "respondent_email",
)
# Columns the CSV template adds to help whoever fills it in; ignored on import.
CSV_INFORMATIONAL = (
    "domain",
    "title",
    "question",
    "answer_type",
    "allowed_answers",
    "must_pass",
    "evidence_requested",
    "checklist_version",
)
CSV_TEMPLATE_COLUMNS = (
    "org_id",
    "checklist",
    "submitted",
    "respondent_name",
    "respondent_role",
    "respondent_email",
    "control_id",
    "domain",
    "title",
    "question",
    "answer_type",
    "allowed_answers",
    "must_pass",
    "evidence_requested",
    "answer",
    "evidence",
    "comment",
)

# YAML ----------------------------------------------------------------------------------------------
YAML_TOP_KEYS = ("org_id", "checklist", "checklist_version", "submitted", "respondent", "answers")
YAML_RESPONDENT_KEYS = ("name", "role", "email")
YAML_ANSWER_KEYS = ("answer", "evidence", "comment")

# Limits for untrusted inputs ---------------------------------------------------------------------
MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_XLSX_BYTES = 10 * 1024 * 1024
MAX_XLSX_UNCOMPRESSED = 100 * 1024 * 1024
MAX_XLSX_MEMBERS = 2000
MAX_XLSX_RATIO = 200  # uncompressed/compressed for any member over 1 MB: a zip bomb, not a workbook
MAX_ROWS = 5000  # a questionnaire has tens of controls; thousands of rows means a wrong file
