"""Who sees which page when sign-in is on: staff (everyone signed in) ask and read the
treatments; the content team also sees Coverage (the callers' unanswered questions) and
Index (re-ingest, server paths).

The content team is named in a small TOML file (``SEARCH_ROLES``, default
``.streamlit/roles.toml``; README, "Sign-in"):

    # e-mail addresses, or "@domain" for everyone signed in from that domain
    content_team = ["lead@trust.example", "@content.trust.example"]
    # or the groups of an identity-token claim (Entra ID, Okta and Keycloak send "groups")
    claim = "groups"
    content_team_groups = ["treatment-search-content"]

No file, or nobody matching, means staff only: the app fails closed. Matching is on what
the identity provider vouches for (``st.user``), never on anything the browser sends.
"""

from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from search import ConfigError

STAFF = "staff"
CONTENT_TEAM = "content team"


@dataclass(frozen=True)
class RoleRules:
    #: Lower-cased e-mail addresses, and "@domain" entries.
    content_team: frozenset[str] = frozenset()
    claim: str = "groups"
    content_team_groups: frozenset[str] = frozenset()

    def role_of(self, user: Mapping[str, Any]) -> str:
        """STAFF or CONTENT_TEAM for a signed-in user's claims (``st.user``)."""
        email = str(user.get("email") or "").strip().lower()
        # A provider that says the address is unverified does not vouch for it.
        verified = user.get("email_verified", True) not in (False, "false")
        if email and verified and "@" in email:
            domain = "@" + email.rsplit("@", 1)[1]
            if email in self.content_team or domain in self.content_team:
                return CONTENT_TEAM
        groups = user.get(self.claim) or ()
        if isinstance(groups, str):
            groups = (groups,)
        elif not isinstance(groups, (list, tuple)):  # a claim of another shape: no groups
            groups = ()
        if self.content_team_groups & {str(g) for g in groups}:
            return CONTENT_TEAM
        return STAFF


def load_role_rules(path: Path) -> RoleRules:
    """The rules of ``path``; no file means nobody is on the content team."""
    try:
        raw = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return RoleRules()
    except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as error:
        raise ConfigError(f"The roles file '{path}' cannot be read: {error}. Fix it (README, "
                          "\"Sign-in\") or remove it to keep Coverage and Index hidden.") \
            from error
    unknown = set(raw) - {"content_team", "claim", "content_team_groups"}
    if unknown:
        raise ConfigError(f"{path}: unknown setting(s) {', '.join(sorted(unknown))}; the "
                          "settings are content_team, claim and content_team_groups.")
    people, groups, claim = (raw.get("content_team", []), raw.get("content_team_groups", []),
                             raw.get("claim", "groups"))
    if not (isinstance(people, list) and all(isinstance(p, str) for p in people)
            and isinstance(groups, list) and all(isinstance(g, str) for g in groups)
            and isinstance(claim, str)):
        raise ConfigError(f"{path}: content_team and content_team_groups must be lists of "
                          "strings, and claim a string.")
    return RoleRules(frozenset(p.strip().lower() for p in people if p.strip()), claim,
                     frozenset(groups))
