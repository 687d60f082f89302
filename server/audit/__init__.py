"""The audit log: who did what to an organisation, kept append-only, read and exported by its admins.

An entry is written in the same transaction as the change it records
(``do_audit``), so a change and its entry commit or roll back together. The
client address and request id come from the request being served
(``server.audit.context``), so the actions that record need no request.
"""
