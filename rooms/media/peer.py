"""One participant's connection inside a media worker: its transport, its publications, its slots, its RTCP.

A peer is both a publisher (its tracks' packets go to ``Forwarder.publish``;
keyframe requests for them come back through ``send_keyframe_request``) and a
WebRTC sink (its slots' packets are sent on its transport); it talks to the
forwarder only, and tells the signalling layer through ``emit``.

A simulcast m-line publishes one track per layer. The offer declares no
SSRCs for them: the first packets of a new SSRC carry the layer's RID (and
the m-line's MID) in header extensions, and ``on_rtp`` binds the SSRC to that
layer; an RID the offer did not declare is reported and its packets dropped.

A malformed RTP or RTCP datagram from this participant is counted and
reported to the signalling layer (an ``error`` event naming the problem, at
most one per kind every few seconds), then dropped; it never reaches another
participant and never raises into the worker.
"""
from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import Callable
from typing import TYPE_CHECKING

from rooms.media import rtcp, rtp
from rooms.media.offer import Offer, OfferError, Section, build_answer, check_offer, dtls_role_for, video_codecs_for
from rooms.media.slot import Slot
from rooms.media.track import Track
from rooms.media.transport import PeerTransport

if TYPE_CHECKING:
    from aiortc.rtcdtlstransport import RTCCertificate

    from rooms.media.forwarder import Forwarder

ERROR_REPORT_INTERVAL = 5.0
# The bitrate a simulcast publisher is told it may send (REMB): enough for Chromium's three layers of a 720p camera.
# Its receivers' own REMBs choose their layers (layers.py) instead of holding every layer down to the slowest receiver.
SIMULCAST_BITRATE = 3_500_000


class Peer:
    def __init__(self, forwarder: "Forwarder", room_id: str, participant_id: str, certificate: "RTCCertificate", emit: Callable[[dict], None]) -> None:
        self.forwarder = forwarder
        self.room_id = room_id
        self.participant_id = participant_id
        self.emit = emit
        self.transport = PeerTransport(certificate, self.on_rtp, self.on_rtcp)
        self.rtcp_ssrc = secrets.randbits(32) or 1
        self.cname = secrets.token_hex(8)
        self.tracks: dict[tuple[str, str | None], Track] = {}  # (mid, rid) -> publication; rid None: a single stream
        self.simulcast: dict[str, Section] = {}  # mid -> its section, for the m-lines that send simulcast
        self.tracks_by_ssrc: dict[int, Track] = self.transport.streams  # the reader skips silence by it (Track.skippable)
        self.slots: dict[str, Slot] = {}  # mid -> slot
        self.slots_by_ssrc: dict[int, Slot] = {}
        self.pinned: str | None = None
        self.layout: dict[str, str | None] = {}  # video slot mid -> the participant it shows, as last told
        self.tiles: dict[str, tuple[int, int]] = {}  # video slot mid -> the tile size (pixels) its page shows it at
        self.remb: int | None = None  # the bitrate this receiver's latest REMB allows (layers.estimate)
        self.limited_until = 0.0  # until when its REMB limits its simulcast layers (layers.estimate)
        self.errors: dict[str, int] = {}
        self._error_reported: dict[str, float] = {}
        self.unknown_ssrc = 0
        self._offer: Offer | None = None
        self.last_heard: float | None = None
        self.lost = False
        self._start_task = None

    # --- signalling ---------------------------------------------------------------

    async def negotiate(self, offer_text: str, screen_mids: frozenset[str]) -> tuple[str, list[Track], list[Track]]:
        """Answer an offer (first or renegotiation); return the answer and the tracks added and removed."""
        offer = check_offer(offer_text, screen_mids, video_codecs_for(self.room_id))
        first = self._offer is None
        if not first and offer.ice.usernameFragment != self._offer.ice.usernameFragment:
            raise OfferError("ICE restart (a new a=ice-ufrag) is not supported: leave and join again")
        if first:
            await self.transport.gather()
        sections = {s.mid: s for s in offer.sections}
        added, removed = [], []
        for key in list(self.tracks):
            section = sections.get(key[0])
            if section is None or not section.publishes or key[1] not in (section.rids or (None,)):
                track = self.tracks.pop(key)
                self.tracks_by_ssrc.pop(track.ssrc, None)
                removed.append(track)
        for mid in list(self.slots):
            section = sections.get(mid)
            if section is None or not section.receives:
                slot = self.slots.pop(mid)
                self.slots_by_ssrc.pop(slot.ssrc, None)
                self.forwarder.attach(slot, None)
        self.simulcast = {s.mid: s for s in offer.sections if s.rids and s.publishes}
        for section in offer.sections:
            if section.publishes:
                added += self._publish(section)
            if section.receives and section.mid not in self.slots:
                ssrc = self._new_ssrc()
                slot = Slot(self, section.mid, section.kind, section.screen, ssrc, section.codec.payloadType, section.codec.clockRate, section.audio_level_id)
                self.slots[section.mid] = slot
                self.slots_by_ssrc[ssrc] = slot
        ice, candidates = self.transport.local_ice()
        answer = build_answer(
            offer, ice=ice, candidates=candidates, fingerprints=self.transport.fingerprints(),
            slot_ssrcs={mid: slot.ssrc for mid, slot in self.slots.items()}, cname=self.cname,
        )
        self._offer = offer
        if first:
            self._start_task = asyncio.get_running_loop().create_task(self._connect(offer))
        return answer, added, removed

    def _publish(self, section: Section) -> list[Track]:
        """The tracks a sending m-line adds: one, or one per simulcast layer (the top one's id is the camera's group)."""
        rids = section.rids or (None,)
        if all((section.mid, rid) in self.tracks for rid in rids):
            return []
        ids = [self.forwarder.new_track_id() for _ in rids]
        added = []
        for rid, track_id in zip(rids, ids):
            track = Track(
                track_id, self.room_id, self.participant_id, self.forwarder.index, section.kind, section.screen,
                section.ssrc or 0, section.codec.clockRate, section.audio_level_id, section.codec.mimeType,
                rid=rid, group=ids[-1] if section.rids else 0,
            )
            self.tracks[(section.mid, rid)] = track
            if track.ssrc:
                self.tracks_by_ssrc[track.ssrc] = track
            added.append(track)
        return added

    async def _connect(self, offer: Offer) -> None:
        await self.transport.start(offer.ice, offer.candidates, offer.dtls, dtls_role_for(offer))
        failed = self.transport.connected.exception()
        self.emit({
            "event": "connection", "room": self.room_id, "participant": self.participant_id,
            "state": "failed" if failed else "connected", **({"message": str(failed)} if failed else {}),
        })
        if not failed:
            self._after_connect()

    def _after_connect(self) -> None:
        """DTLS is up: the video slots can start, each with a keyframe of its source, and our cameras start afresh."""
        for track in self.tracks.values():
            if track.kind == "video":
                track.keyframes.reset()
        self.forwarder.ask_keyframes(self.slots.values())

    async def add_candidate(self, candidate) -> None:
        await self.transport.add_remote_candidate(candidate)

    def _new_ssrc(self) -> int:
        while True:
            ssrc = secrets.randbits(32)
            if ssrc and ssrc not in self.slots_by_ssrc and ssrc not in self.tracks_by_ssrc:
                return ssrc

    async def close(self) -> None:
        for slot in self.slots.values():
            self.forwarder.attach(slot, None)
        if self._start_task is not None:
            self._start_task.cancel()
        await self.transport.stop()

    # --- media in -----------------------------------------------------------------

    def report_error(self, kind: str, message: str) -> None:
        self.errors[kind] = self.errors.get(kind, 0) + 1
        now = time.monotonic()
        if now - self._error_reported.get(kind, -ERROR_REPORT_INTERVAL) >= ERROR_REPORT_INTERVAL:
            self._error_reported[kind] = now
            self.emit({"event": "error", "room": self.room_id, "participant": self.participant_id, "kind": kind, "message": message, "count": self.errors[kind]})

    def on_rtp(self, data: bytes) -> None:
        try:
            header = rtp.parse_header(data)
        except rtp.RtpError as exc:
            self.report_error("rtp", f"malformed RTP packet dropped: {exc}")
            return
        track = self.tracks_by_ssrc.get(header.ssrc)
        if track is None and self.simulcast:
            try:
                track = self._bind_layer(data, header)
            except rtp.RtpError as exc:
                self.report_error("rtp", f"malformed RTP packet dropped: {exc}")
                return
        if track is None:
            self.unknown_ssrc += 1
            return
        if not track.held:
            self.forwarder.publish(track, data, header)

    def _bind_layer(self, data: bytes, header: rtp.RtpHeader) -> Track | None:
        """The simulcast layer a new SSRC's packet names by its RID (and MID), now bound to that SSRC; None if it names none."""
        for mid, section in self.simulcast.items():
            rid = rtp.extension_text(data, header, section.rid_id)
            if rid is None:
                continue
            if rtp.extension_text(data, header, section.mid_id) not in (None, mid):
                continue
            track = self.tracks.get((mid, rid))
            if track is None:
                self.report_error("rid", f"RTP with rid {rid[:16]!r} dropped: m-line {mid} offered no such simulcast layer")
                return None
            self.tracks_by_ssrc.pop(track.ssrc, None)
            track.ssrc = header.ssrc
            self.tracks_by_ssrc[track.ssrc] = track
            return track
        return None

    def on_rtcp(self, data: bytes) -> None:
        try:
            packets = rtcp.parse_compound(data)
        except rtcp.RtcpError as exc:
            self.report_error("rtcp", f"malformed RTCP packet dropped: {exc}")
            return
        forwarder = self.forwarder
        for packet in packets:
            if isinstance(packet, rtcp.Nack):
                slot = self.slots_by_ssrc.get(packet.media_ssrc)
                if slot is not None:
                    forwarder.retransmit(slot, packet.lost)
            elif isinstance(packet, rtcp.Pli):
                slot = self.slots_by_ssrc.get(packet.media_ssrc)
                if slot is not None:
                    forwarder.request_keyframe(slot.source)
            elif isinstance(packet, rtcp.Fir):
                for ssrc, _ in packet.entries:
                    slot = self.slots_by_ssrc.get(ssrc)
                    if slot is not None:
                        forwarder.request_keyframe(slot.source)
            elif isinstance(packet, rtcp.Remb):
                self.remb = packet.bitrate
                for ssrc in packet.ssrcs:
                    slot = self.slots_by_ssrc.get(ssrc)
                    if slot is not None and slot.source is not None:
                        slot.source.remb[ssrc] = packet.bitrate
            elif isinstance(packet, rtcp.SenderReport):
                track = self.tracks_by_ssrc.get(packet.ssrc)
                if track is not None:
                    track.last_sr = (packet.ntp_timestamp >> 16) & 0xFFFFFFFF
                    track.last_sr_time = time.monotonic()

    def hold(self, kind: str, held: bool) -> None:
        """Drop (or forward again) this participant's microphone or camera, whatever its client does: host mute, stop video.

        Nothing reaches the other workers, speaker detection or the recorder
        while held; a camera let go asks for a keyframe, since its subscribers
        missed the frames in between.
        """
        for track in self.tracks.values():
            if track.kind == kind and not track.screen and track.held != held:
                track.held = held
                if not held:
                    self.forwarder.request_keyframe(track)

    def check_heard(self, now: float, timeout: float) -> None:
        """Report the connection lost once nothing (media, RTCP, STUN) came from the participant for ``timeout`` s.

        A healthy client is never that quiet: besides its media and RTCP, ICE
        consent checks go both ways every 4-6 s (RFC 7675) and their answers count.
        """
        if self.transport.heard:
            self.transport.heard = False
            self.last_heard = now
        elif not self.lost and self.last_heard is not None and now - self.last_heard > timeout:
            self.lost = True
            self.emit({
                "event": "connection", "room": self.room_id, "participant": self.participant_id, "state": "failed",
                "message": f"nothing received from the participant for {timeout:g} s",
            })

    # --- RTCP out -----------------------------------------------------------------

    def send_keyframe_request(self, track: Track) -> None:
        if track.ssrc:  # a simulcast layer is asked once its SSRC is known
            self.transport.send_rtcp(rtcp.Pli(self.rtcp_ssrc, track.ssrc).pack())

    def send_reports(self, now: float, default_video_bitrate: int) -> None:
        """Receiver reports for what this participant publishes, and the bitrate its subscribers can take."""
        if not self.tracks_by_ssrc:
            return
        blocks = []
        video_ssrcs, bitrates = [], []
        for track in self.tracks.values():
            if not track.ssrc:
                continue  # a simulcast layer that has not arrived yet
            fraction, lost = track.loss_report()
            dlsr = int((now - track.last_sr_time) * 65536) if track.last_sr else 0
            blocks.append(rtcp.ReportBlock(track.ssrc, fraction, lost, track.extended_highest, 0, track.last_sr, dlsr))
            if track.kind == "video":
                video_ssrcs.append(track.ssrc)
                if track.group:
                    bitrates.append(SIMULCAST_BITRATE)
                else:
                    bitrates.append(min(track.remb.values()) if track.remb else default_video_bitrate)
        data = rtcp.ReceiverReport(self.rtcp_ssrc, blocks[:31]).pack()
        if video_ssrcs:
            data += rtcp.Remb(self.rtcp_ssrc, min(bitrates), video_ssrcs).pack()
        self.transport.send_rtcp(data)

