"""Simulcast: which layer of a camera each video slot of a receiver shows.

A publisher that sends simulcast (Chromium with ``sendEncodings``, OBS)
sends each camera frame at up to ``MAX_LAYERS`` sizes; the SFU forwards one
layer per slot. The choice is per receiver (a meeting participant, a WHEP
viewer), from:

* the tile the page shows the slot at (``meeting.tiles``, in device pixels):
  the smallest layer that fills it at ``object-fit: contain`` (width or
  height at least the tile's), else the largest. A slot whose page said
  nothing: the stage (the first video slot: the active speaker) the largest
  layer, the other slots the smallest;
* the receiver's bandwidth estimate (``estimate``): slots take their layers
  stage first, and a slot steps down while its layer's measured bitrate is
  more than what is left of the estimate. The estimate is the receiver's
  REMB, but only once it says congestion: a browser's REMB grows to about
  1.5 times what it receives, so while nothing is lost it would keep every
  slot on the layer it has. It limits when it falls below ``CONGESTED`` of
  what the receiver's slots are sent, and then for ``HOLD_S`` seconds, after
  which larger layers are tried again;
* which layers arrive: a layer with no packet for ``LIVE_S`` seconds (the
  publisher stopped it, or it never came) is not chosen, so its slots fall
  back to another.

A layer's frame size comes from its keyframes and its bitrate from what
arrived in the last second (``Track.note_layer``, ``measure``). The
forwarder switches a slot at the new layer's next keyframe and asks the
publisher for one on that layer's SSRC (``Forwarder.switch``). Costs: one
pass a second over the slots that show a simulcast camera, and at each
reassignment and tile change of a receiver; nothing per packet.
"""
from __future__ import annotations

from rooms.media.track import Track

LIVE_S = 1.5
CONGESTED = 0.9  # a REMB below this share of what the receiver is sent limits its layers
HOLD_S = 10.0


def estimate(peer, now: float) -> int | None:
    """The bits per second the receiver can take, None for no limit (see the module's docstring).

    Its REMB for now; a transport-wide congestion control estimate would replace this function alone.
    """
    if peer.remb is None:
        return None
    sent = sum(slot.source.bitrate for slot in peer.slots.values() if slot.kind == "video" and slot.source is not None)
    if peer.remb < CONGESTED * sent:
        peer.limited_until = now + HOLD_S
    return peer.remb if now < peer.limited_until else None


def measure(layers: list[Track], elapsed: float) -> None:
    """Each layer's bitrate over the last ``elapsed`` seconds, from the bytes ``note_layer`` counted."""
    for layer in layers:
        layer.bitrate = int(layer.octets * 8 / elapsed) if elapsed > 0 else 0
        layer.octets = 0


def ordered(layers: list[Track]) -> list[Track]:
    """Low to high: by frame size once every layer's is known, else as offered (the page offers low to high)."""
    if all(layer.size is not None for layer in layers):
        return sorted(layers, key=lambda layer: layer.size[0] * layer.size[1])
    return list(layers)


def fills(size: tuple[int, int] | None, tile: tuple[int, int]) -> bool:
    """Whether a frame of ``size`` shown in ``tile`` with object-fit: contain is not scaled up."""
    return size is not None and (size[0] >= tile[0] or size[1] >= tile[1])


def choose(layers: list[Track], tile: tuple[int, int] | None, stage: bool, budget: int | None, now: float) -> Track | None:
    """The layer a slot should show (see the module's docstring); None if no layer is arriving."""
    live = [layer for layer in ordered(layers) if now - layer.arrived < LIVE_S]
    if not live:
        return None
    if tile is None:
        index = len(live) - 1 if stage else 0
    else:
        index = next((i for i, layer in enumerate(live) if fills(layer.size, tile)), len(live) - 1)
    while index > 0 and budget is not None and live[index].bitrate > budget:
        index -= 1
    return live[index]
