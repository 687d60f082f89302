"""Audiences: who a notice, a form or a broadcast goes to, for every capability.

An audience is parts of several kinds (members by user id, departments with
every sub-department, groups, everyone; capabilities register more, such as
a school's families and staff of units) expanded into the people it covers:
the organisation's members, and for kinds that reach them the outsiders it
admits (a school's guardians); each person once (a member who is also an
outsider, as the member), streamed in chunks of plain tuples, with the ids
that named nothing reported rather than failing. ``kinds.py`` is the
registry, ``expand.py`` the expansion, ``reach.py`` who may send where (the
check that a sender limited to parts of the tree names only what lies under
them, and the registry of what gives people such a place), ``routes.py`` the
preview pages show before sending, ``pickers.py`` the units a send page
offers a sender (a capability's tree, within their reach).
"""
