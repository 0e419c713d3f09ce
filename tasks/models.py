"""The name results pickled before the values moved to domain/values.py look them up by: a run suspended
then, or a release scheduled then, loads its cached plan, request and evidence from here after the upgrade."""

from domain.values import Evidence, Extension, Kind, Request, Step, SystemPlan

__all__ = ["Evidence", "Extension", "Kind", "Request", "Step", "SystemPlan"]
