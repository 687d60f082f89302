"""Muster's shared platform: HTTP + WebSocket app, accounts, organisations, storage, the event bus.

Capabilities (rooms/, notify/, schools/) plug in through entry points; this
package never imports them.
"""
