"""The HLS segmenter (rooms/hls) on real media: libx264 H.264 and libopus Opus packetized as a browser does, through the
forwarder into the sink; what comes out opens in FFmpeg (PyAV), has every frame, and each segment begins at a keyframe."""
from __future__ import annotations

import io
import re

import av
import pytest

from rooms.hls import playlist
from rooms.hls.access_units import AccessUnitAssembler
from rooms.hls.sink import HlsSink
from rooms.media import h264, rtp
from rooms.media.forwarder import Forwarder
from rooms.media.track import Track
from tests.rooms.hls.media import AUDIO_SSRC, VIDEO_SSRC, h264_frames, interleaved, opus_rtp, video_rtp


def annex_b_nals(data: bytes) -> list[int]:
    return [nal[0] & 0x1F for nal in re.split(b"\x00\x00\x00\x01|\x00\x00\x01", data) if nal]


def decoded_frames(data: bytes) -> int:
    decoder = av.CodecContext.create("h264", "r")
    count = 0
    for packet in decoder.parse(data) + decoder.parse(None):
        count += len(decoder.decode(packet))
    return count + len(decoder.decode(None))


def test_access_units_rebuilt_from_stap_a_and_fu_a_packets_are_the_encoders_and_decode():
    frames = h264_frames(20, gop=10)
    assembler = AccessUnitAssembler()
    units = [u for u in map(assembler.push, video_rtp(frames)) if u is not None]
    assert [u.keyframe for u in units] == [k for _, k in frames] and sum(u.keyframe for u in units) == 2
    assert [u.timestamp for u in units] == [n * 3000 for n in range(20)]
    assert annex_b_nals(units[0].data)[:2] == [h264.SPS, h264.PPS]
    assert decoded_frames(b"".join(u.data for u in units)) == 20


def test_a_lost_packet_drops_frames_until_the_next_keyframe_which_gets_the_parameter_sets():
    frames = h264_frames(20, gop=10)
    packets = video_rtp(frames)
    per_frame = [len(video_rtp([f])) for f in frames]
    lost = sum(per_frame[:3])  # the first packet of the fourth frame
    assembler = AccessUnitAssembler()
    units = [u for u in map(assembler.push, packets[:lost] + packets[lost + 1 :]) if u is not None]
    assert [u.timestamp // 3000 for u in units] == [0, 1, 2, *range(10, 20)]
    assert units[3].keyframe and annex_b_nals(units[3].data)[:2] == [h264.SPS, h264.PPS]
    assert decoded_frames(b"".join(u.data for u in units)) == 13 and assembler.dropped == 6  # frames 4-9 (the third it never saw)


@pytest.mark.parametrize("size", [(320, 240), (854, 480), (1280, 720)])
def test_the_picture_size_is_read_from_the_sps_with_its_cropping(size):
    assembler = AccessUnitAssembler()
    for packet in video_rtp(h264_frames(1, *size)):
        assembler.push(packet)
    assert h264.picture_size(assembler.sps) == size


def test_a_truncated_sps_is_refused_with_a_message():
    with pytest.raises(ValueError, match="SPS"):
        h264.picture_size(b"\x67\x64\x00")


def test_the_stage_becomes_cmaf_segments_at_keyframes_a_live_playlist_and_a_replay_that_ffmpeg_reads_whole(tmp_path):
    replay = tmp_path / "replay.mp4"
    replay.touch()
    forwarder = Forwarder(0)
    video = Track(1, "live-1", "publisher", 0, "video", False, VIDEO_SSRC, 90000, None, "video/H264")
    audio = Track(2, "live-1", "publisher", 0, "audio", False, AUDIO_SSRC, 48000, None, "audio/opus")
    sink = HlsSink(forwarder, "live-1", str(tmp_path / "hls"), str(replay))
    forwarder.attach(sink.video, video)
    forwarder.attach(sink.audio, audio)
    frames = h264_frames(90, gop=30)  # 3 s, a keyframe a second
    for kind, packet in interleaved(video_rtp(frames), opus_rtp(3.0)):
        forwarder.deliver(video if kind == "video" else audio, packet, rtp.parse_header(packet), 0.0)
    result = sink.close()
    assert "error" not in result, result
    assert result["segments"] == 3 and 2900 <= result["duration_ms"] <= 3100

    directory = tmp_path / "hls"
    live = (directory / "live.m3u8").read_text()
    run = sink.run
    assert live.startswith("#EXTM3U\n#EXT-X-VERSION:7\n") and f'#EXT-X-MAP:URI="init-{run}.mp4"' in live and live.endswith("#EXT-X-ENDLIST\n")
    assert re.findall(r"^(.+)\.m4s$", live, re.M) == [f"{run}-0", f"{run}-1", f"{run}-2"]
    for durations in re.findall(r"#EXTINF:([\d.]+),", live):
        assert 0.9 <= float(durations) <= 1.1
    init = (directory / f"init-{run}.mp4").read_bytes()
    for index in range(3):  # each segment plays on its own after the init segment, from a keyframe
        with av.open(io.BytesIO(init + (directory / f"{run}-{index}.m4s").read_bytes())) as container:
            packets = [p for p in container.demux(container.streams.video[0]) if p.size]
            assert packets[0].is_keyframe and sum(p.is_keyframe for p in packets) == 1 and len(packets) == 30

    with av.open(str(replay)) as container:
        assert container.streams.video[0].codec_context.name == "h264" and container.streams.audio[0].codec_context.name == "opus"
        assert (container.streams.video[0].codec_context.width, container.streams.video[0].codec_context.height) == (320, 240)
        pictures = [f for f in container.decode(video=0)]
        assert len(pictures) == 90
    with av.open(str(replay)) as container:
        sound = [f for f in container.decode(audio=0)]
        assert 140 <= len(sound) <= 150

    vod = result["playlist"]
    assert "#EXT-X-PLAYLIST-TYPE:VOD" in vod and vod.endswith("#EXT-X-ENDLIST\n")
    data = replay.read_bytes()
    ranges = [tuple(map(int, r)) for r in re.findall(r"#EXT-X-BYTERANGE:(\d+)@(\d+)", vod)]
    assert [data[offset:offset + size] for size, offset in ranges] == [(directory / f"{run}-{i}.m4s").read_bytes() for i in range(3)]
    assert f'BYTERANGE="{len(init)}@0"' in vod and data.startswith(init)


def test_the_live_playlist_slides_over_the_last_segments():
    text = playlist.live("ab12", [(7, 1200), (8, 1000)], 2, ended=False)
    assert "#EXT-X-MEDIA-SEQUENCE:7" in text and text.rstrip().endswith("ab12-8.m4s") and "#EXT-X-ENDLIST" not in text and text.count("#EXTINF") == 2
    assert playlist.target_duration([1400, 2600]) == 3


def test_a_segmenter_that_cannot_write_says_why_and_lets_go_of_the_stage(tmp_path):
    from rooms.media.registry import RoomState

    forwarder = Forwarder(0)
    room = RoomState("live-1", 3, 9)
    video = Track(1, "live-1", "publisher", 0, "video", False, VIDEO_SSRC, 90000, None, "video/H264")
    forwarder.add(video, None)
    room.add_track(video)
    sink = HlsSink(forwarder, "live-1", str(tmp_path / "hls"), str(tmp_path / "no such folder" / "replay.mp4"))
    sink._thread.join(5)
    forwarder.attach(sink.video, video)
    sink.follow(room)  # a failed segmenter's slots show nothing: no packet queues up for a thread that is gone
    assert sink.video.source is None and sink.audio.source is None
    result = sink.close()
    assert "segmenting failed" in result["error"] and "playlist" not in result
