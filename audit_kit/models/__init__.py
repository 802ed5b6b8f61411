"""Typed models that cross layers: findings, assessments, questionnaires (pure data, no I/O).

They sit below the store so that its repositories can return them, and below every domain package so
that none has to import another to share a type.
"""
