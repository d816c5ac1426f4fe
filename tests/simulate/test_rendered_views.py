"""What the renderer derives from the model beside each resource (content print, truth view row,
delta fingerprint, members as id lists) equals what the readers derive from the resource's text."""

from __future__ import annotations

import orjson
import pytest

from recon.fingerprint import content_sha256_of_text
from recon.simulate.directory import Directory
from recon.simulate.memo import Doc, RenderMemo
from recon.simulate.model import Ledger
from recon.simulate.profiles import get_profile
from recon.simulate.render import (
    _idp_user,
    _idp_user_object,
    _target_user,
    _target_user_object,
    idp_resources,
    target_resources,
)
from recon.simulate.sync import Target
from recon.simulate.views import ContentIndex, ViewBuilder, content, doc_of, user_row


def _exports(profile: str) -> list[list[Doc]]:
    chosen, ledger = get_profile(profile, None), Ledger()
    d = Directory(seed=4, users=600, groups=40, quirks=chosen.delta, traps=chosen.traps, ledger=ledger)
    apps = [
        Target(name, seed=4, directory=d, faults=chosen.sync, traps=chosen.traps, ledger=ledger)
        for name in ("slack", "github", "jira")
    ]
    d.build()
    for app in apps:
        app.initial()
    events = d.evolve(1)
    for app in apps:
        app.sync(1, events)
    memo = RenderMemo(False)
    exports = [list(idp_resources(d, "c1", ledger, memo, by_id=True).resources)]
    exports += [list(target_resources(app, "c1", ledger, memo).resources) for app in apps]
    return exports


@pytest.mark.parametrize("profile", ["typical", "hostile"])
def test_what_the_renderer_derives_equals_what_the_readers_derive(profile: str) -> None:
    forms = set()
    for index, docs in enumerate(_exports(profile)):
        given, read = ViewBuilder(), ViewBuilder()
        given_index, read_index = ContentIndex(), ContentIndex()
        for doc in docs:
            resource = orjson.loads(doc.raw)
            again = doc_of(resource)
            given.add(doc)
            read.add(again)
            if index == 0:  # the IdP: also the delta fingerprints
                given_index.add(doc)
                read_index.add(again)
            if doc.group:
                assert doc.members is not None and "members" not in doc.data
                assert {**doc.data, "members": resource["members"]} == resource
                continue
            assert doc.row == user_row(resource)
            assert doc.content_print == content_sha256_of_text(doc.raw, "User")
            if index == 0:
                assert doc.indexed == content(resource)
                forms.add(orjson.dumps(sorted(resource)))
            else:
                assert doc.indexed is None
        assert given.view == read.view
        assert given_index.users == read_index.users and given_index.groups == read_index.groups
        assert given.view.user_groups and given.view.groups
    assert len(forms) > 1  # users with and without roles, cost centers, titles ...


def test_a_target_users_text_is_the_one_its_object_gives_escapes_included() -> None:
    chosen, ledger = get_profile("hostile", None), Ledger()
    d = Directory(seed=5, users=400, groups=20, quirks=chosen.delta, traps=chosen.traps, ledger=ledger)
    app = Target("github", seed=5, directory=d, faults=chosen.sync, traps=chosen.traps, ledger=ledger)
    d.build()
    app.initial()
    accounts = [a for a in app.accounts if a is not None]
    odd = ['Ann "Q"', "back\\slash", "tab\there", "Ødegård ☃"]
    for i, value in enumerate(odd):  # values JSON escapes (and one it does not)
        accounts[i].c = accounts[i].c._replace(given=value, title=value if i % 2 else None)
    flags = set()
    for account in accounts:
        text = _target_user(app, account, "c0", Ledger())
        made = _target_user_object(app, account, "c0", Ledger())
        assert text.raw == made.raw
        assert text.content_print == made.content_print == content_sha256_of_text(text.raw, "User")
        assert text.row == made.row
        flags.add(account.flags)
    assert len(flags) > 4  # traps of several kinds were rendered


def test_an_idp_users_text_is_the_one_its_object_gives_escapes_included() -> None:
    chosen, ledger = get_profile("hostile", None), Ledger()
    d = Directory(seed=6, users=500, groups=20, quirks=chosen.delta, traps=chosen.traps, ledger=ledger)
    d.build()
    d.evolve(1)  # users in each of their forms
    users = [u for u in d.users if u is not None]
    odd = ['Ann "Q"', "back\\slash", "new\nline", "Ødegård ☃"]
    for i, value in enumerate(odd):
        users[i].c = users[i].c._replace(family=value, department=value if i % 2 else None)
    users[5].p = users[5].p._replace(cost_center='C"C', roles=("a\\b",))
    users[6].p = users[6].p._replace(cost_center="", roles=())
    seen = set()
    for user in users:
        text = _idp_user(d, user, "c1", Ledger())
        made = _idp_user_object(d, user, "c1", Ledger())
        assert text.raw == made.raw
        assert text.content_print == made.content_print == content_sha256_of_text(text.raw, "User")
        assert text.row == made.row and text.indexed == made.indexed == content(orjson.loads(text.raw))
        seen.add((user.form, bool(user.p.roles), user.p.cost_center is None, user.c.title is None))
    assert {form for form, *_ in seen} == {0, 1, 2} and len(seen) > 8
