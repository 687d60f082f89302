"""Audiences: who a notice, a form or a broadcast goes to, for every capability.

An audience is parts of several kinds (members by user id, departments with
every sub-department, groups, everyone; capabilities register more, such as
a school's classes) expanded into the organisation's members it covers:
each person once, streamed in chunks of plain tuples, with the ids that named
nothing reported rather than failing. ``kinds.py`` is the registry,
``expand.py`` the expansion, ``reach.py`` the check that a sender limited to
parts of the tree names only what lies under them, ``routes.py`` the preview
pages show before sending.
"""
