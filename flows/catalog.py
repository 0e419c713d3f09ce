"""Every deployment slett serves: name -> flow. cli/serve.py and the tests register exactly these."""

from __future__ import annotations

import importlib

from prefect import Flow

# name -> "module:function"; prefect.yaml declares the same for a work pool.
DEPLOYMENTS = {
    "erase-member": "flows.erase_member:erase_member",
    "release-holds": "flows.release_holds:release_holds",
    "recover-crashed": "flows.recover_crashed:recover_crashed",
    "evidence-report": "flows.evidence_report:evidence_report",
    "deadline-check": "flows.deadline_check:deadline_check",
    "purge-guests": "flows.purge_guests:purge_guests",
    "reconcile-settlements": "flows.reconcile_settlements:reconcile_settlements",
}
# name -> seconds between runs. recover-crashed is also started by an automation on every crash
# (cli/automations.py); this schedule is the backstop for crashes no event announced.
SWEEP_EVERY_S = 300
INTERVALS: dict[str, int] = {"recover-crashed": SWEEP_EVERY_S}
# name -> cron (UTC), for the deployments that run on a calendar; prefect.yaml gives them in Oslo time.
CRONS = {"deadline-check": "0 5 * * *", "evidence-report": "30 5 * * 1", "purge-guests": "0 2 * * *",
         "reconcile-settlements": "0 4 * * *", "release-holds": "30 2 * * *"}


def load(name: str) -> Flow[..., object]:
    """The flow behind a deployment name."""
    module, function = DEPLOYMENTS[name].split(":")
    flow: Flow[..., object] = getattr(importlib.import_module(module), function)
    return flow
