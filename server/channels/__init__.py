"""Message channels: the ways the server reaches a person who is not looking (Web Push, SMS), for every capability.

One interface (``Channel.send(message)``, server/channels/registry.py) and a
registry per node (``app[CHANNELS]``); what each message costs the operator
is bounded by server/channels/paid.py. Capabilities decide *whom* to tell and
*when* (notify/ escalates broadcasts, server/groups/ tells of mentions and new
messages); the channels only deliver.
"""
