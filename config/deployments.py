"""Every deployment of slett, defined once: its name, flow, work queue, schedule (Oslo time) and tags.

workers/pool.py puts these on a work pool (`slett serve`, the suites); prefect.yaml, for `prefect deploy --all`,
is generated from them (`python -m flows.catalog > prefect.yaml`) and a test fails when it differs. To add or
change a deployment, change DEPLOYMENTS and regenerate prefect.yaml.
"""

from __future__ import annotations

from dataclasses import dataclass

TIMEZONE = "Europe/Oslo"  # every cron below is read in it, summer time included
TAG = "slett"  # on every deployment of slett, and so on every run it makes
POOL = "slett"  # the production work pool prefect.yaml names

ERASE_MEMBER = "erase-member"
RELEASE_HOLDS = "release-holds"
RECOVER_CRASHED = "recover-crashed"
DEADLINE_CHECK = "deadline-check"
EVIDENCE_REPORT = "evidence-report"
PURGE_GUESTS = "purge-guests"
RECONCILE_SETTLEMENTS = "reconcile-settlements"
WITHDRAW_MARKETING = "withdraw-marketing"
SWEEP_READDED = "sweep-readded"
LEGAL_HOLD = "legal-hold"

RECOVERY_QUEUE = "recovery"
# The pool's work queues and their priorities (1 is served first). The sweep comes first: with the pool's
# slots full of erasures, a crashed run must not wait behind new ones.
QUEUES = {RECOVERY_QUEUE: 1, "erasure": 10, "holds": 20, "reports": 30, "purges": 40}


@dataclass(frozen=True)
class Deployment:
    """One deployment: a flow (named as the deployment) on a work queue, maybe on a schedule."""

    name: str
    entrypoint: str  # "module:function"
    description: str
    queue: str
    tags: tuple[str, ...]  # besides TAG
    interval_s: int | None = None
    cron: str | None = None  # in TIMEZONE
    why: str = ""  # why it runs when it runs: a comment in prefect.yaml

    @property
    def full_name(self) -> str:
        """`<flow>/<deployment>`, as the Prefect API reads a deployment by name."""
        return f"{self.name}/{self.name}"

    @property
    def path(self) -> str:
        """The entrypoint as a file path, as prefect.yaml gives it."""
        module, function = self.entrypoint.split(":")
        return f"{module.replace('.', '/')}.py:{function}"


# recover-crashed is also started by an automation on every crash (cli/automations.py); its interval is the
# backstop for crashes no event announced.
SWEEP_EVERY_S = 300

DEPLOYMENTS: dict[str, Deployment] = {d.name: d for d in (
    Deployment(ERASE_MEMBER, "flows.erase_member:erase_member",
               "Erase one member across the chain's processors, holding what the law keeps.", "erasure", ("erasure",),
               why="started by the webhook receiver, the UI or the API: controller, member_id, kind, request_id"),
    Deployment(RELEASE_HOLDS, "flows.release_holds:release_holds",
               "Release every legal hold due in the ledger (on its date), after checking each again.", "holds",
               ("holds",), cron="30 3 * * *",
               why="every night, so a hold is released on its date; no run is scheduled per hold"),
    Deployment(RECOVER_CRASHED, "flows.recover_crashed:recover_crashed",
               "Rerun crashed erasure runs within a budget of three; escalate the ones past it.", RECOVERY_QUEUE,
               ("recovery",), interval_s=SWEEP_EVERY_S,
               why="also started on every crash by `slett setup-automations`; the interval catches crashes no "
                   "event announced (a dead machine, a server restart)"),
    Deployment(DEADLINE_CHECK, "flows.deadline_check:deadline_check",
               "Mark and announce the requests within 7 days of their GDPR deadline or past it; send each "
               "request still waiting on its deadline its delay letter (GDPR Art. 12(4)).", "reports",
               ("deadlines",), cron="0 6 * * *", why="every morning, before the DPO starts the day"),
    Deployment(EVIDENCE_REPORT, "flows.evidence_report:evidence_report",
               "The DPO's register of erasure requests, deadlines, holds, manual steps and failures.", "reports",
               ("evidence",), cron="30 6 * * 1", why="every Monday; parameters out_dir/controller narrow or file it"),
    Deployment(PURGE_GUESTS, "flows.purge_guests:purge_guests",
               "Delete, in batches in one run, every guest and course participant past their chain's limit.",
               "purges", ("purge",), cron="0 3 * * *",
               why="nightly, when the processors are quiet; counts only in its artifact"),
    Deployment(RECONCILE_SETTLEMENTS, "flows.reconcile_settlements:reconcile_settlements",
               "Resume suspended erasures whose member has settled; escalate manual steps left too long.", "erasure",
               ("erasure",), cron="0 5 * * *", why="daily, so a lost invoice.settled webhook costs a day at most"),
    Deployment(WITHDRAW_MARKETING, "flows.withdraw_marketing:withdraw_marketing",
               "Stop all marketing to one member everywhere at once and keep them from being added again; nothing "
               "else is touched.", "erasure", ("withdrawal",),
               why="started by the webhook receiver (marketing.withdrawn), the UI or the API: controller, member_id, "
                   "request_id"),
    Deployment(SWEEP_READDED, "flows.sweep_readded:sweep_readded",
               "Remove again every withdrawn or erased member a re-sync added back to a marketing processor.",
               "purges", ("suppression",), cron="15 4 * * *",
               why="nightly, after the processors' own nightly syncs: a member added again is removed by morning"),
    Deployment(LEGAL_HOLD, "flows.legal_hold:legal_hold",
               "Set or lift a legal hold on one member's category at one processor (the police, a legal claim).",
               "holds", ("holds", "legal-hold"),
               why="a person's form in the UI (custom run), as `slett hold`: controller, member_id, system, "
                   "category, reason, set_by, until, lift"),
)}


# Run tags: every tag slett puts on a run or filters runs by is made here (ids only, never personal data).
ESCALATED = "escalated"  # a run left for a person: its crash budget is spent, or Prefect refused its resume


def controller_tag(controller: str) -> str:
    """The tag on every run slett starts for a chain."""
    return f"controller:{controller}"


def member_tag(controller: str, member_id: str) -> str:
    """The tag on every erase-member run for one member, however started."""
    return f"member:{controller}:{member_id}"


def request_tag(request_id: str) -> str:
    """The tag that marks every run of one request."""
    return f"request:{request_id}"


def webhook_tag(webhook_id: str) -> str:
    """The tag on the run a webhook started."""
    return f"webhook:{webhook_id}"
