"""SDP offer checking and answer building for one participant's connection to the SFU.

The client always offers (a browser's ``createOffer``); the SFU answers.
Each m-line is a publication (the client sends: ``sendonly``/``sendrecv``),
a slot (the client receives: ``recvonly``/``sendrecv``), or both. Slots are
how a subscriber gets media without a renegotiation per speaker change: the
SFU fills a receiver's audio and video slots with whichever sources are
selected, rewriting SSRCs onto the slot's fixed SSRC.

What the SFU accepts, and why:

* everything BUNDLEd on one ICE/DTLS transport with rtcp-mux (one port per
  participant, one DTLS handshake);
* DTLS fingerprints present (without them the peer cannot be authenticated);
* Opus for audio, VP8 for video, because forwarding needs one codec per kind
  that every receiver can decode (no transcoding on the server); a livestream's
  room (``live-<id>``) takes H.264 first, VP8 else (``video_codecs_for``);
* a=ssrc on every m-line that sends, except a simulcast one: the SFU
  recognises publications by SSRC;
* simulcast (RFC 8853) with RIDs (RFC 8851): a video m-line with
  ``a=rid:<id> send`` lines and ``a=simulcast:send`` (what Chromium offers
  for ``sendEncodings``; OBS too) publishes one layer per RID, listed low to
  high. Such a section declares no SSRCs: the MID and RID header extensions
  (RFC 8843, RFC 8852; repaired-rtp-stream-id too) are accepted on it, and
  the peer binds each new SSRC to its layer from the RID of its first
  packets (``Peer.on_rtp``). The answer says ``a=rid:<id> recv`` and
  ``a=simulcast:recv``. Unknown, duplicate, paused-only or malformed RIDs,
  more than ``MAX_LAYERS`` layers, simulcast on audio or without the RID
  extension are refused;
* otherwise only the RFC 6464 audio-level header extension, used for speaker
  detection (at the id the client chose). abs-send-time, transport-cc, MID
  and the others are declined, so a browser does not put them in what it
  sends; what a simulcast publisher still puts there (MID and RID, in its
  first packets) is taken off before forwarding (``rtp.strip_extensions``),
  so a forwarded packet never carries another client's extension ids;
* one codec per m-line: the offered Opus or VP8 at the client's payload type,
  with the RTCP feedback both sides support. RTX, RED, ULPFEC and FlexFEC are
  declined (a browser then sends none), so a sending m-line has one SSRC: the
  first of its ``a=ssrc-group:FID`` when the client offered RTX anyway.

An m-line with port 0 (a transceiver the client stopped, e.g. a finished
screen share) is answered with port 0 and its publication or slot ends.

Everything else is an ``OfferError`` whose message names the problem, raised
before any transport is created. An offer longer than ``MAX_OFFER_CHARS`` or
with more than ``MAX_MEDIA_SECTIONS`` m-lines is refused before it is parsed
(``check_offer_bounds``): each m-line costs the SFU a section to parse, answer
and keep, and the meeting page offers 12 at most.
"""
from __future__ import annotations

import ipaddress
import re
import secrets
from dataclasses import dataclass, field

from aiortc import sdp
from aiortc.rtcdtlstransport import RTCDtlsFingerprint, RTCDtlsParameters
from aiortc.rtcicetransport import RTCIceCandidate, RTCIceParameters
from aiortc.rtcrtpparameters import RTCRtcpFeedback, RTCRtpCodecParameters, RTCRtpHeaderExtensionParameters, RTCRtpParameters

from rooms.media import h264
from rooms.media.rtp import AUDIO_LEVEL_URI, MID_URI, REPAIRED_RID_URI, RID_URI

CODECS = {"audio": "audio/opus", "video": "video/VP8"}
STREAM_ROOM_PREFIX = "live-"  # a livestream's room (rooms/live/ingest.py)
FEEDBACK = {
    "audio": [],
    "video": [RTCRtcpFeedback("nack"), RTCRtcpFeedback("nack", "pli"), RTCRtcpFeedback("ccm", "fir"), RTCRtcpFeedback("goog-remb")],
}
SENDS = ("sendonly", "sendrecv")
RECEIVES = ("recvonly", "sendrecv")
REVERSE = {"sendonly": "recvonly", "recvonly": "sendonly", "sendrecv": "sendrecv", "inactive": "inactive"}


MAX_OFFER_CHARS = 100_000
MAX_MEDIA_SECTIONS = 32
MAX_LAYERS = 4  # simulcast layers of one m-line (Chromium sends 3)
RID_PATTERN = re.compile(r"[A-Za-z0-9_-]{1,16}")  # RFC 8851 rid-id, at most what the one-byte RID extension carries
SIMULCAST_URIS = (MID_URI, RID_URI, REPAIRED_RID_URI)


class OfferError(ValueError):
    """An offer the SFU cannot answer; the message says what is wrong and is safe to show the client."""


def check_offer_bounds(text: str) -> None:
    """Refuse an offer too long or with too many m-lines, in two C-speed scans and before any parsing."""
    if len(text) > MAX_OFFER_CHARS:
        raise OfferError(f"the offer is {len(text)} characters long; at most {MAX_OFFER_CHARS} are accepted")
    sections = text.count("\nm=") + text.startswith("m=")
    if sections > MAX_MEDIA_SECTIONS:
        raise OfferError(f"the offer has {sections} media sections (m-lines); at most {MAX_MEDIA_SECTIONS} are accepted")


@dataclass
class Section:
    """One accepted m-line."""

    mid: str
    kind: str
    direction: str  # as offered by the client
    codec: RTCRtpCodecParameters
    ssrc: int | None  # the client's sending SSRC, if it sends
    audio_level_id: int | None
    screen: bool = False
    rids: tuple[str, ...] = ()  # simulcast layers, low to high as offered; empty: one stream on ``ssrc``
    extensions: tuple[RTCRtpHeaderExtensionParameters, ...] = ()  # MID/RID/RRID of a simulcast m-line

    @property
    def rid_id(self) -> int | None:
        return next((h.id for h in self.extensions if h.uri == RID_URI), None)

    @property
    def mid_id(self) -> int | None:
        return next((h.id for h in self.extensions if h.uri == MID_URI), None)

    @property
    def publishes(self) -> bool:
        return self.direction in SENDS

    @property
    def receives(self) -> bool:
        return self.direction in RECEIVES


@dataclass
class Offer:
    description: sdp.SessionDescription
    ice: RTCIceParameters
    candidates: list[RTCIceCandidate]
    dtls: RTCDtlsParameters
    sections: list[Section] = field(default_factory=list)


def video_codecs_for(room_id: str) -> tuple[str, ...]:
    """The video codecs a room forwards, preferred first: a meeting VP8 (what every participant's browser sends
    and decodes), a livestream H.264 (what OBS sends and HLS carries without transcoding), else VP8."""
    return ("video/H264", CODECS["video"]) if room_id.startswith(STREAM_ROOM_PREFIX) else (CODECS["video"],)


def pick_codec(codecs: list[RTCRtpCodecParameters], wanted: tuple[str, ...]) -> RTCRtpCodecParameters | None:
    """The offered codec to use: the first mime type of ``wanted`` that is offered; for H.264 the best-ranked
    format the SFU takes (``h264.acceptable``: packetization-mode=1, a common profile)."""
    for mime in wanted:
        offered = [c for c in codecs if c.mimeType.lower() == mime.lower()]
        if mime.lower() == "video/h264":
            ranked = sorted((rank, i) for i, c in enumerate(offered) if (rank := h264.acceptable(c.parameters)) is not None)
            offered = [offered[i] for _, i in ranked]
        if offered:
            return offered[0]
    return None


def check_offer(text: str, screen_mids: frozenset[str] | set[str] = frozenset(), video_codecs: tuple[str, ...] = (CODECS["video"],)) -> Offer:
    """Parse and validate a client's offer; ``screen_mids`` names the m-lines that carry a screen share,
    ``video_codecs`` the video codecs the room forwards, preferred first (``video_codecs_for``)."""
    if not isinstance(text, str) or not text.strip():
        raise OfferError("the offer is empty")
    check_offer_bounds(text)
    try:
        description = sdp.SessionDescription.parse(text)
    except Exception as exc:  # aiortc raises whatever its line parsers hit
        raise OfferError(f"the offer is not valid SDP: {exc.__class__.__name__}: {exc}") from None
    if not description.media:
        raise OfferError("the offer has no m-lines")
    bundle = next((g for g in description.group if g.semantic == "BUNDLE"), None)
    bundled = set(bundle.items) if bundle else set()
    first = description.media[0]
    if first.ice is None or not first.ice.usernameFragment or not first.ice.password:
        raise OfferError("the offer has no ICE credentials (a=ice-ufrag / a=ice-pwd)")
    if first.dtls is None or not first.dtls.fingerprints:
        raise OfferError("the offer has no DTLS fingerprint (a=fingerprint): the connection could not be authenticated")
    offer = Offer(description=description, ice=first.ice, candidates=list(first.ice_candidates), dtls=first.dtls)
    attributes = media_attributes(text)
    for index, media in enumerate(description.media):
        if media.kind not in CODECS or media.port == 0:
            continue  # data channels, stopped transceivers: rejected in the answer with port 0
        mid = media.rtp.muxId
        if not mid:
            raise OfferError(f"m-line {index} ({media.kind}) has no a=mid")
        if any(section.mid == mid for section in offer.sections):
            raise OfferError(f"m-line {index} repeats mid {mid}: each m-line needs its own")
        if mid not in bundled:
            raise OfferError(f"m-line {index} (mid {mid}) is not in the BUNDLE group: the SFU needs all media on one transport")
        if not media.rtcp_mux:
            raise OfferError(f"m-line {index} (mid {mid}) has no a=rtcp-mux")
        if media.direction == "inactive":
            continue
        wanted = video_codecs if media.kind == "video" else (CODECS[media.kind],)
        codec = pick_codec(media.rtp.codecs, wanted)
        if codec is None:
            names = " or ".join(mime.split("/")[1] + (" (packetization-mode=1)" if mime == "video/H264" else "") for mime in wanted)
            raise OfferError(f"m-line {index} ({media.kind}) offers no {names}, the {media.kind} codecs the SFU forwards here")
        ssrc = None
        rids = check_simulcast(index, media, attributes[index] if index < len(attributes) else [])
        if media.direction in SENDS and not rids:
            if not media.ssrc:
                raise OfferError(f"m-line {index} (mid {mid}) sends media but declares no a=ssrc")
            ssrc = primary_ssrc(media)
        level_id = next((h.id for h in media.rtp.headerExtensions if h.uri == AUDIO_LEVEL_URI), None) if media.kind == "audio" else None
        extensions = tuple(h for h in media.rtp.headerExtensions if h.uri in SIMULCAST_URIS) if rids else ()
        offer.sections.append(Section(
            mid=mid, kind=media.kind, direction=media.direction or "sendrecv", codec=codec, ssrc=ssrc,
            audio_level_id=level_id, screen=mid in screen_mids, rids=rids, extensions=extensions,
        ))
    if not offer.sections:
        raise OfferError("the offer has no audio or video m-line the SFU can use")
    return offer


def media_attributes(text: str) -> list[list[str]]:
    """The ``a=`` lines of each m-line, in order (aiortc's parser drops ``a=rid`` and ``a=simulcast``)."""
    sections: list[list[str]] = []
    for line in text.splitlines():
        if line.startswith("m="):
            sections.append([])
        elif sections and line.startswith("a="):
            sections[-1].append(line[2:].strip())
    return sections


def check_simulcast(index: int, media: sdp.MediaDescription, attributes: list[str]) -> tuple[str, ...]:
    """The RIDs of a simulcast m-line, in the order of its ``a=simulcast:send`` (empty if it is not one).

    Each layer is the first alternative of its ``;``-separated stream; a paused one (``~rid``) is still
    received when it starts. Every RID must be declared once with ``a=rid:<id> send``.
    """
    declared: dict[str, str] = {}
    simulcast = None
    for line in attributes:
        if line.startswith("rid:"):
            fields = line[4:].split()
            if len(fields) < 2 or not RID_PATTERN.fullmatch(fields[0]) or fields[1] not in ("send", "recv"):
                raise OfferError(f"m-line {index} has a malformed a=rid line: {line[:80]!r} (a=rid:<1-16 letters, digits, - or _> send)")
            if fields[0] in declared:
                raise OfferError(f"m-line {index} declares rid {fields[0]!r} twice")
            declared[fields[0]] = fields[1]
        elif line.startswith("simulcast:"):
            if simulcast is not None:
                raise OfferError(f"m-line {index} has two a=simulcast lines")
            simulcast = line[len("simulcast:"):].split()
    if simulcast is None:
        if declared:
            raise OfferError(f"m-line {index} declares RIDs (a=rid) without a=simulcast: the SFU receives RIDs only as simulcast layers")
        return ()
    if media.kind != "video":
        raise OfferError(f"m-line {index} ({media.kind}) offers simulcast: the SFU receives simulcast video only")
    if len(simulcast) != 2 or simulcast[0] != "send":
        raise OfferError(f"m-line {index}: the SFU receives simulcast only, a=simulcast:send <rids> (got {' '.join(simulcast)[:80]!r})")
    if media.direction not in SENDS:
        raise OfferError(f"m-line {index} offers simulcast:send but is {media.direction}")
    rids = [stream.split(",")[0].removeprefix("~") for stream in simulcast[1].split(";")]
    for rid in rids:
        if declared.get(rid) != "send":
            raise OfferError(f"m-line {index}: a=simulcast names rid {rid!r}, which no a=rid:{rid} send line declares")
    if len(set(rids)) != len(rids):
        raise OfferError(f"m-line {index}: a=simulcast names a rid twice ({simulcast[1][:80]})")
    if len(rids) > MAX_LAYERS:
        raise OfferError(f"m-line {index} offers {len(rids)} simulcast layers; at most {MAX_LAYERS} are received")
    if not any(h.uri == RID_URI for h in media.rtp.headerExtensions):
        raise OfferError(f"m-line {index} offers simulcast without the {RID_URI} header extension, which tells the layers apart")
    return tuple(rids)


def primary_ssrc(media: sdp.MediaDescription) -> int:
    """The SSRC media is sent on: the first of an RTX (FID) group, else the first declared."""
    fid = next((g for g in media.ssrc_group if g.semantic == "FID" and g.items), None)
    return int(fid.items[0]) if fid is not None else media.ssrc[0].ssrc


def feedback_for(kind: str, offered: list[RTCRtcpFeedback]) -> list[RTCRtcpFeedback]:
    """The RTCP feedback the SFU handles that the client offered for its codec."""
    return [f for f in FEEDBACK[kind] if f in offered]


def pairable(address: str, local_addresses: list[str]) -> bool:
    """Whether the SFU, gathering on ``local_addresses`` (empty: all interfaces), can reach a candidate's address.

    A loopback SFU (tests, a node behind a local relay) must not send checks
    to a browser's other interfaces, and a public one not to a loopback address.
    """
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False  # e.g. an mDNS .local name: the SFU does not resolve those
    if not local_addresses:
        return not ip.is_loopback
    local = [ipaddress.ip_address(a) for a in local_addresses]
    return any(ip.version == a.version and ip.is_loopback == a.is_loopback for a in local)


def candidate_address(line: str) -> str | None:
    """The connection address of an ``a=candidate:`` / ``candidate:`` line, None if it is not one."""
    fields = line.removeprefix("a=").split()
    return fields[4] if len(fields) >= 8 and fields[0].startswith("candidate:") else None


def drop_unpairable_candidates(text: str, local_addresses: list[str]) -> str:
    """The SDP without the candidate lines the SFU could not pair with (see ``pairable``)."""
    kept = [
        line for line in text.splitlines()
        if not line.startswith("a=candidate:") or pairable(candidate_address(line) or "", local_addresses)
    ]
    return "\r\n".join(kept) + "\r\n"


def dtls_role_for(offer: Offer) -> str:
    """Our DTLS role: the offerer's ``actpass`` or ``active`` makes us the server (passive)."""
    return "client" if offer.dtls.role == "server" else "server"


class SimulcastMediaDescription(sdp.MediaDescription):
    """An answer's m-line with the simulcast attributes aiortc does not write (``extra``, appended)."""

    extra: list[str] = []

    def __str__(self) -> str:
        return super().__str__() + "".join(line + "\r\n" for line in self.extra)


def build_answer(
    offer: Offer,
    *,
    ice: RTCIceParameters,
    candidates: list[RTCIceCandidate],
    fingerprints: list[RTCDtlsFingerprint],
    slot_ssrcs: dict[str, int],
    cname: str,
) -> str:
    """The SDP answer: each accepted m-line with its codec, our slot SSRC where we send, one shared transport."""
    accepted = {s.mid: s for s in offer.sections}
    answer = sdp.SessionDescription()
    answer.origin = f"- {secrets.randbelow(1 << 62)} 0 IN IP4 0.0.0.0"
    answer.msid_semantic.append(sdp.GroupDescription(semantic="WMS", items=["*"]))
    answer.type = "answer"
    role = dtls_role_for(offer)
    for media in offer.description.media:
        section = accepted.get(media.rtp.muxId)
        if section is None:
            out = sdp.MediaDescription(kind=media.kind, port=0, profile=media.profile, fmt=media.fmt)
            out.rtp = RTCRtpParameters(muxId=media.rtp.muxId)
            out.direction = "inactive"
            out.ice = ice
            answer.media.append(out)
            continue
        codec = section.codec
        answer_codec = RTCRtpCodecParameters(
            mimeType=codec.mimeType, clockRate=codec.clockRate, channels=codec.channels,
            payloadType=codec.payloadType, rtcpFeedback=feedback_for(section.kind, codec.rtcpFeedback), parameters=dict(codec.parameters),
        )
        out = (SimulcastMediaDescription if section.rids else sdp.MediaDescription)(
            kind=section.kind, port=9, profile="UDP/TLS/RTP/SAVPF", fmt=[codec.payloadType],
        )
        out.direction = REVERSE[section.direction]
        if section.rids:
            out.extra = [f"a=rid:{rid} recv" for rid in section.rids] + ["a=simulcast:recv " + ";".join(section.rids)]
        extensions = list(section.extensions)
        if section.audio_level_id:
            extensions.append(RTCRtpHeaderExtensionParameters(id=section.audio_level_id, uri=AUDIO_LEVEL_URI))
        out.rtp = RTCRtpParameters(codecs=[answer_codec], headerExtensions=extensions, muxId=section.mid)
        out.rtcp_host, out.rtcp_port, out.rtcp_mux = "0.0.0.0", 9, True
        if section.receives:
            ssrc = slot_ssrcs[section.mid]
            out.msid = f"sfu slot-{section.mid}"
            out.ssrc = [sdp.SsrcDescription(ssrc=ssrc, cname=cname)]
        out.ice = ice
        out.ice_candidates = list(candidates)
        out.ice_candidates_complete = True
        if candidates:
            out.host, out.port = candidates[0].ip, candidates[0].port
        out.dtls = RTCDtlsParameters(fingerprints=list(fingerprints), role=role)
        answer.media.append(out)
    answer.group.append(sdp.GroupDescription(semantic="BUNDLE", items=[s.mid for s in offer.sections]))
    return str(answer)
