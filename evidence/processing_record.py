"""The record of processing activities (GDPR Art. 30(1)) derived from a chain's policy file."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from config.policy import Policy, ProcessorRule, RetentionRule

# What a processor in each role is used for, on which basis, about whom and what: the roles slett knows.
ROLE_PURPOSE = {
    "membership": ("membership administration: contract, access, visits and invoicing",
                   "GDPR Art. 6(1)(b) contract; Art. 6(1)(c) bookkeeping duty"),
    "booking": ("booking of classes, treatments and facilities", "GDPR Art. 6(1)(b) contract"),
    "marketing": ("newsletters and marketing messages", "GDPR Art. 6(1)(a) consent"),
    "payment": ("collecting payments: AvtaleGiro, card and terminal payments",
                "GDPR Art. 6(1)(b) contract; Art. 6(1)(c) bookkeeping duty"),
    "journal": ("physiotherapy and health care, and its patient journal",
                "GDPR Art. 6(1)(c) and Art. 9(2)(h); helsepersonelloven § 39"),
    "invoicing": ("invoicing and collection of unpaid claims", "GDPR Art. 6(1)(b) contract; Art. 6(1)(f) claims"),
    "manual": ("services from a supplier slett reaches through a person", "as agreed in the data processing agreement"),
    "access": ("access control at the centres: cards, codes and the door log", "GDPR Art. 6(1)(b) contract"),
    "app": ("the chain's app: bookings, push notifications and error logs", "GDPR Art. 6(1)(b) contract; "
            "Art. 6(1)(a) consent for push notifications"),
}
ROLE_DATA = {
    "membership": ("members, guests", ("identity and contact details", "membership and contract", "visit history",
                                       "invoices")),
    "booking": ("members, guests", ("bookings", "attendance")),
    "marketing": ("members, subscribers", ("e-mail address or phone number", "consents")),
    "payment": ("members", ("payment mandates", "stored cards", "transactions")),
    "journal": ("patients", ("health data in the patient journal (GDPR Art. 9)",)),
    "invoicing": ("members, debtors", ("invoices", "claims")),
    "manual": ("members", ("the data the supplier holds under its agreement",)),
    "access": ("members", ("access cards and codes", "door log")),
    "app": ("members", ("push tokens", "app traffic", "app logs")),
}
CLOCKS = {"financial_year_end": "the end of the financial year of the entry",
          "contract_year_end": "the end of the financial year the contract ended",
          "last_journal_entry": "the last journal entry",
          "claim_due": "the claim's due date (kept while unsettled)", "purchase": "the purchase",
          "recording": "the recording", "exclusion_end": "the end of the exclusion period", "payment": "the payment"}
NOT_IN_POLICY = ("the controller's contact details and its data protection officer",
                 "transfers to third countries or international organisations (Art. 30(1)(e))")
SECURITY = (
    "erasure is orchestrated without storing personal data: runs, task results, logs and evidence carry "
    "system ids and a keyed HMAC subject reference only",
    "records kept by law are restricted (GDPR Art. 18) at the processor and released on a scheduled date",
    "every request's evidence is sealed with SHA-256 and chained per controller, so later changes show",
    "processor credentials are secrets read from the environment, never stored with the deployments",
)


def _activity(processor: ProcessorRule, policy: Policy) -> dict[str, Any]:
    purpose, basis = ROLE_PURPOSE.get(processor.role, (processor.role, ""))
    subjects, categories = ROLE_DATA.get(processor.role, ("members", ()))
    held = [policy.rule(name) for name in processor.holds]
    return {"processor": processor.system, "supplier": processor.supplier, "role": processor.role,
            "operated_by": processor.operated_by,
            "purpose": purpose, "lawful_basis": basis, "data_subjects": subjects,
            # The data map's categories are what the processor holds; the role's words say it for one without.
            "data_categories": sorted({*(c.category.replace("_", " ") for c in processor.data)} or
                                      {*categories, *(c for rule in held for c in rule.categories)}),
            "at_erasure": processor.action, "only_when": None if processor.when == "always" else processor.when,
            "kept_under": list(processor.holds),
            "assumption": processor.reason if processor.assumption else None}


def _retention(rule: RetentionRule, policy: Policy) -> dict[str, Any]:
    return {"rule": rule.name, "categories": list(rule.categories), "basis": rule.basis.citation,
            "period": str(rule.period), "counted_from": CLOCKS.get(rule.clock, rule.clock.replace("_", " ")),
            "until_settled": rule.until_settled, "review_only": rule.review_only,
            "held_by": [p.system for p in policy.processors if rule.name in p.holds], "citation": rule.citation}


def processing_record(policy: Policy, source: Path) -> dict[str, Any]:
    """The Art. 30(1) record as JSON: (a) controller, (b) purposes, (c) subjects and data, (d) recipients,
    (e) transfers, (f) time limits for erasure, (g) security measures."""
    return {
        "article": "GDPR Art. 30(1)",
        "source": str(source),
        "controller": {"key": policy.controller, "name": policy.name},
        "activities": [_activity(p, policy) for p in policy.processors],
        # Every one a processor under the chain's data processing agreement, not a controller of its own.
        "recipients": [{"processor": p.system, "supplier": p.supplier, "operated_by": p.operated_by, "role": p.role,
                        "as": "processor"} for p in policy.processors],
        "transfers_to_third_countries": None,
        "time_limits": {
            "requests": "answered within one month of receipt, extendable by two months (GDPR Art. 12(3))",
            "after_the_request": (f"erased by {policy.buffer.period} after the "
                                  f"{policy.buffer.clock.replace('_', ' ')}: {policy.buffer.citation}")
            if policy.buffer else None,
            "retention": [_retention(rule, policy) for rule in policy.retention],
            "purges": [{"name": p.name, "kind": p.kind, "systems": list(p.systems), "period": str(p.period),
                        "citation": p.citation} for p in policy.purges],
            "financial_year_end": str(policy.financial_year_end),
        },
        "security": list(SECURITY),
        "not_in_policy_file": list(NOT_IN_POLICY),
    }


def processing_record_markdown(record: dict[str, Any]) -> str:
    """The Art. 30(1) record as a document a DPO files."""
    name = record["controller"]["name"]
    limits = record["time_limits"]
    lines = [f"# Record of processing activities · {name}", "",
             f"GDPR Art. 30(1), derived from `{record['source']}`.", "",
             "## (a) Controller", "", f"{name} (`{record['controller']['key']}`).", "",
             "## (b)-(d) Purposes, data subjects, personal data and recipients", "",
             "| Processor | Role | Purpose | Lawful basis | Data subjects | Personal data | At erasure |",
             "|---|---|---|---|---|---|---|"]
    for a in record["activities"]:
        processor = f"{a['processor']} ({a['supplier']})" if a["supplier"] else a["processor"]
        processor += f", run by {a['operated_by']}" if a.get("operated_by") else ""
        erasure = a["at_erasure"] + (f", kept under {', '.join(a['kept_under'])}" if a["kept_under"] else "")
        erasure += f" (only when {a['only_when'].replace('_', ' ')})" if a["only_when"] else ""
        lines.append(f"| {processor} | {a['role']} | {a['purpose']} | {a['lawful_basis']} | {a['data_subjects']} | "
                     f"{', '.join(a['data_categories'])} | {erasure} |")
    assumed = [a for a in record["activities"] if a["assumption"]]
    if assumed:
        lines += ["", *(f"- Assumption: {a['processor']}: {a['assumption']}" for a in assumed)]
    lines += ["", "## (e) Transfers to third countries", "", "Not stated in the policy file.", "",
              "## (f) Time limits for erasure", "", f"- Requests: {limits['requests']}."]
    if limits["after_the_request"]:
        lines.append(f"- After the request: {limits['after_the_request']}")
    lines += [f"- Purge of {p['kind'].replace('_', ' ')} ({', '.join(p['systems'])}): after {p['period']}. "
              f"{p['citation']}" for p in limits["purges"]]
    lines += ["", "| Rule | Kept | Basis | Period | Counted from | Held by |", "|---|---|---|---|---|---|"]
    lines += [f"| {r['rule']} | {', '.join(r['categories'])} | {r['basis']} | {r['period']}"
              f"{' (review by a clinician, never deleted automatically)' if r['review_only'] else ''} | "
              f"{r['counted_from']} | {', '.join(r['held_by'])} |" for r in limits["retention"]]
    lines += ["", *(f"- {r['rule']}: {r['citation']}" for r in limits["retention"])]
    lines += ["", "## (g) Security measures", "", *(f"- {s}" for s in record["security"]), "",
              "## Not in the policy file (complete by hand)", "", *(f"- {s}" for s in record["not_in_policy_file"]), ""]
    return "\n".join(lines)
