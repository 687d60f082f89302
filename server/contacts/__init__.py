"""External contacts: people outside an organisation (customers, patients, parents) whom its staff chat with.

A staff member shares a contact link (or its QR code); whoever opens it signs
in or makes a light account and becomes that staff member's external contact,
with a one-to-one chat (a group flagged ``external`` of two). External groups
hold staff and contacts, up to the organisation's cap. An external contact is
not a member: they reach only the group routes declared ``external=True``, and
only for the groups they are in (server/groups/access.py). When a member
leaves, their contacts and chats go to a colleague (handover.py).
"""
