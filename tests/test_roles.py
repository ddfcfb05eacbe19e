"""Who sees Coverage and Index when sign-in is on (``app_pages/roles.py``): fast lane."""

from __future__ import annotations

from pathlib import Path

import pytest

from app_pages.roles import CONTENT_TEAM, STAFF, RoleRules, load_role_rules
from search.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "roles.toml"
    path.write_text(text, encoding="utf-8")
    return path


def test_content_team_by_address_or_domain_everyone_else_staff(tmp_path: Path) -> None:
    rules = load_role_rules(write(tmp_path, 'content_team = ["Lead@Trust.example", '
                                            '"@content.trust.example"]\n'))
    assert rules.role_of({"email": "lead@trust.example"}) == CONTENT_TEAM
    assert rules.role_of({"email": " LEAD@trust.EXAMPLE "}) == CONTENT_TEAM
    assert rules.role_of({"email": "anyone@content.trust.example"}) == CONTENT_TEAM
    assert rules.role_of({"email": "caller.desk@trust.example"}) == STAFF
    # A domain entry is the whole domain, not a suffix someone can register.
    assert rules.role_of({"email": "x@evilcontent.trust.example"}) == STAFF
    assert rules.role_of({"email": "x@content.trust.example.evil"}) == STAFF
    assert rules.role_of({}) == STAFF


def test_an_unverified_address_is_not_trusted(tmp_path: Path) -> None:
    rules = load_role_rules(write(tmp_path, 'content_team = ["lead@trust.example"]\n'))
    assert rules.role_of({"email": "lead@trust.example", "email_verified": False}) == STAFF
    assert rules.role_of({"email": "lead@trust.example", "email_verified": True}) == CONTENT_TEAM


def test_content_team_by_a_group_claim(tmp_path: Path) -> None:
    rules = load_role_rules(write(tmp_path, 'claim = "roles"\n'
                                            'content_team_groups = ["search-content"]\n'))
    assert rules.role_of({"email": "a@b.example", "roles": ["search-content", "x"]}) == \
        CONTENT_TEAM
    assert rules.role_of({"email": "a@b.example", "roles": "search-content"}) == CONTENT_TEAM
    assert rules.role_of({"email": "a@b.example", "roles": ["search-staff"]}) == STAFF
    assert rules.role_of({"email": "a@b.example", "groups": ["search-content"]}) == STAFF
    assert rules.role_of({"email": "a@b.example", "roles": 7}) == STAFF  # odd claim shapes
    assert rules.role_of({"email": "a@b.example", "roles": {"search-content": 1}}) == STAFF


def test_no_roles_file_means_staff_only(tmp_path: Path) -> None:
    rules = load_role_rules(tmp_path / "missing.toml")
    assert rules == RoleRules()
    assert rules.role_of({"email": "lead@trust.example", "groups": ["anything"]}) == STAFF


@pytest.mark.parametrize(("text", "message"), [
    ("content_team = [", "cannot be read"),
    ('content_teams = ["a@b.example"]', "unknown setting(s) content_teams"),
    ('content_team = "a@b.example"', "must be lists of strings"),
    ("content_team_groups = [1, 2]", "must be lists of strings"),
    ("claim = 3", "claim a string"),
])
def test_a_broken_roles_file_says_what_is_wrong(tmp_path: Path, text: str,
                                                message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_role_rules(write(tmp_path, text))
    assert message in str(raised.value)
