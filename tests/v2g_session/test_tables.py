"""Every transition of every table, walked with both machines; every state reached."""

from __future__ import annotations

import pytest
from walk import Walk, path_to, paths, through

from v2g.session.tables import FAILED, SAP, START, TABLES, TERMINAL, Table, Transition

CASES = [(table, t) for table in TABLES.values() for t in table]


@pytest.mark.parametrize(
    ("table", "transition"),
    CASES,
    ids=[f"{tb.name}:{t.state}-{t.request}-{t.outcome}" for tb, t in CASES],
)
def test_the_transition_leads_both_machines_to_its_next_state(table: Table, transition: Transition) -> None:
    walk = Walk(table, through(table, transition))
    assert walk.step == len(walk.path), (
        f"stopped after {walk.step} of {len(walk.path)} requests: {walk.states}"
    )
    assert walk.states[-1] == (transition.next, transition.next)
    assert walk.secc.ended == (transition.next in TERMINAL)
    if transition.next not in TERMINAL:
        assert walk.secc.data_to_send() == b"" and not walk.ev.ended


@pytest.mark.parametrize("table", list(TABLES.values()), ids=list(TABLES))
def test_every_state_of_the_table_is_reached(table: Table) -> None:
    reached = {START}
    for state in paths(table):
        if state == START:
            continue
        walk = Walk(table, path_to(table, state))
        reached |= {s for pair in walk.states for s in pair}
        assert walk.states[-1] == (state, state)
    # Failed is where every error path leads (test_errors.py); no transition of the table goes there
    assert reached == table.states - {FAILED}
    assert FAILED not in {t.next for t in table}


def test_every_table_starts_at_session_setup_and_every_state_but_the_terminal_ones_has_a_way_out() -> None:
    for table in TABLES.values():
        assert table.allowed(START) == {"SessionSetupReq"}
        for state in table.states - TERMINAL:
            assert table.allowed(state), (table.name, state)
    assert {t.next for t in SAP} == {START, FAILED}


def test_a_transition_listed_twice_is_refused() -> None:
    t = Transition("A", "XReq", "OK", "B")
    with pytest.raises(ValueError, match="listed twice"):
        Table("broken", [t, t])
