"""The region's triage rules file, as triage knows it: the model lives in shared/triage_rules.py
because intake reads the same rules for its acute check (docs/triage.md)."""
from shared.triage_rules import (DEFAULT_RULES_FILE, Rules, RulesError, default_rules, load_rules,  # noqa: F401
                                 parse_rules)
