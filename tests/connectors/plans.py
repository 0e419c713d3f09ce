"""One erasure per processor, as the demo chain plans it: which member, which action, what it applies."""

from __future__ import annotations

from connectors.contract import Action

SYSTEMS = ("exceline", "ibooking", "mailchimp", "nets", "physica", "eziteq", "fixit", "lifevision", "stripe",
           "crm", "imagebank", "access", "app")
PLANS: dict[str, tuple[str, Action]] = {
    "exceline": ("M1001", Action.ANONYMISE),
    "ibooking": ("M1001", Action.DELETE),
    "mailchimp": ("M1001", Action.DELETE),
    "nets": ("M1001", Action.DELETE),
    "physica": ("M1003", Action.RESTRICT),
    "eziteq": ("M1101", Action.ANONYMISE),      # K24's membership system
    "fixit": ("M1201", Action.DELETE),          # Aktiv365's spa bookings
    "lifevision": ("M1101", Action.DELETE),     # K24's SMS and e-mail dialogue
    "stripe": ("M1301", Action.DELETE),         # Vekstly's card payments
    "crm": ("M1501", Action.DELETE),            # MOVA's CRM (stand-in)
    "imagebank": ("M1501", Action.DELETE),      # MOVA's image bank (stand-in)
    "access": ("M1401", Action.DELETE),         # Spenst's access control (stand-in)
    "app": ("M1401", Action.DELETE),            # the Spenst app's back end (stand-in)
}
# Destructive calls one erasure applies: Mailchimp has two audiences; Nets restricts M1001's payments (they pay
# by invoice: no stored card or mandate, whose end is a person's step).
APPLIED = {"exceline": 1, "ibooking": 1, "mailchimp": 2, "nets": 1, "physica": 1, "eziteq": 1, "fixit": 1,
           "lifevision": 1, "stripe": 1, "crm": 1, "imagebank": 1, "access": 1, "app": 1}
# Calls a replay of the erase sends again: Mailchimp first asks each audience for the member, finds them gone
# and sends no delete.
REPLAYED = {**APPLIED, "mailchimp": 0}
# Processors whose API takes an Idempotency-Key (Mailchimp's and Stripe's DELETE do not: a replay meets a 404).
KEYED = ("exceline", "ibooking", "nets", "physica", "eziteq", "fixit", "lifevision", "crm", "imagebank", "access",
         "app")
# Ids a lookup of the plan's member finds (the Mailchimp hash is a stand-in), for calls made without one.
HELD = {
    "exceline": ("M1001",),
    "ibooking": ("71001",),
    "mailchimp": ("a1b2c3d4e5/0123456789",),
    "nets": ("payer/NC-1001",),
    "physica": ("P-1003",),
    "eziteq": ("M1101",),
    "fixit": ("81201",),
    "lifevision": ("lv-001101",),
    "stripe": ("cus_jqr8LC4nK6Hj21",),
    "crm": ("crm-001501",),
    "imagebank": ("ima-001501",),
    "access": ("acc-001401",),
    "app": ("app-001401",),
}
