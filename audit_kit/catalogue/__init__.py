"""Control catalogues: typed models, the shipped checklists, validation and OSCAL import."""

from __future__ import annotations

from audit_kit.catalogue.loader import (
    SHIPPED,
    CatalogueLibrary,
    list_catalogues,
    load_catalogue,
    load_catalogue_file,
    parse_catalogue,
)
from audit_kit.catalogue.log_checks import (
    DETECTOR_IDS,
    KNOWN_LOG_CHECKS,
    LOG_MEASURES,
    MEASURES,
    Form,
    LogMeasure,
)
from audit_kit.catalogue.models import (
    FRAMEWORKS,
    AnswerType,
    Catalogue,
    Control,
    CorroborationSpec,
    Direction,
    ScoringRule,
)

__all__ = [
    "DETECTOR_IDS",
    "FRAMEWORKS",
    "KNOWN_LOG_CHECKS",
    "LOG_MEASURES",
    "MEASURES",
    "SHIPPED",
    "AnswerType",
    "CatalogueLibrary",
    "Catalogue",
    "Control",
    "CorroborationSpec",
    "Form",
    "LogMeasure",
    "Direction",
    "ScoringRule",
    "list_catalogues",
    "load_catalogue",
    "load_catalogue_file",
    "parse_catalogue",
]
