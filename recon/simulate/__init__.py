"""The directory simulator: an IdP and downstream apps over sync cycles, with ground truth.

``simulate(out, users=…, cycles=…, seed=…, profile=…)`` writes simulated exports in the
CONTRACT §3 layout (or SCIM ListResponse pages) plus ``truth/``: the exact findings, delta
findings and leaver outcomes a correct engine must report for them. Deterministic per seed.
"""

from __future__ import annotations

from recon.simulate.profiles import PROFILES, DeltaQuirks, Profile, SyncFaults, Traps, get_profile, rate_names
from recon.simulate.run import FORMATS, SOURCE, SimulationSummary, default_groups, simulate
from recon.simulate.sync import TARGET_STYLES

__all__ = [
    "FORMATS",
    "PROFILES",
    "SOURCE",
    "TARGET_STYLES",
    "DeltaQuirks",
    "Profile",
    "SimulationSummary",
    "SyncFaults",
    "Traps",
    "default_groups",
    "get_profile",
    "rate_names",
    "simulate",
]
