"""The room registry of a worker: per room, its tracks by role, its local peers and what follows its stage.

Every worker knows every track of its rooms (published here or on another
worker); this is the bookkeeping that speaker selection reads: whose
microphone, whose camera, which screen shares, in which speaking order.
"""
from __future__ import annotations

from rooms.media.lastn import ScreenShares, SpeakingOrder
from rooms.media.speakers import ActiveSpeakers
from rooms.media.track import Track


class RoomState:
    """What one worker knows about one room: all its tracks, its local peers, the selections."""

    def __init__(self, room_id: str, audio_n: int, video_n: int) -> None:
        self.room_id = room_id
        self.video_n = video_n
        self.speakers = ActiveSpeakers(top_n=audio_n)
        self.order = SpeakingOrder()  # participant ids with a camera
        self.screens = ScreenShares()  # screen track ids
        self.audio_of: dict[str, Track] = {}
        self.camera_of: dict[str, Track] = {}
        self.tracks: dict[int, Track] = {}
        self.layers: dict[int, list[Track]] = {}  # a simulcast camera's group id -> its layers, low to high
        self.peers: dict = {}  # participant id -> Peer connected to this worker
        # local sinks that follow the stage, by name ("recording"): each has ``follow(room)``, called at every selection
        self.stage_sinks: dict[str, object] = {}
        self.assigned_for: list | None = None  # speakers.selected as of the last reassignment

    def add_track(self, track: Track) -> None:
        """Register a track; a simulcast layer joins its camera's ``layers``, and the top layer stands for the camera."""
        self.tracks[track.track_id] = track
        if track.group:
            track.layers = self.layers.setdefault(track.group, [])
            track.layers.append(track)
            if track.track_id != track.group:
                return
        if track.screen:
            self.screens.start(track.track_id)
        elif track.kind == "audio":
            self.audio_of[track.owner] = track
        else:
            self.camera_of[track.owner] = track
            self.order.add(track.owner)

    def remove_track(self, track: Track) -> None:
        self.tracks.pop(track.track_id, None)
        if track.layers is not None:
            track.layers.remove(track)
            if not track.layers:
                del self.layers[track.group]
            if track.track_id != track.group:
                return
        if track.screen:
            self.screens.stop(track.track_id)
        elif track.kind == "audio":
            if self.audio_of.get(track.owner) is track:
                del self.audio_of[track.owner]
                self.speakers.remove(track.owner)
        elif self.camera_of.get(track.owner) is track:
            del self.camera_of[track.owner]
            self.order.remove(track.owner)


class RoomRegistry:
    def __init__(self, audio_n: int, video_n: int) -> None:
        self.audio_n = audio_n
        self.video_n = video_n
        self.rooms: dict[str, RoomState] = {}

    def room(self, room_id: str) -> RoomState:
        """The room, made on first use."""
        room = self.rooms.get(room_id)
        if room is None:
            room = self.rooms[room_id] = RoomState(room_id, self.audio_n, self.video_n)
        return room

    def get(self, room_id: str) -> RoomState | None:
        return self.rooms.get(room_id)

    def peer(self, room_id: str, participant_id: str):
        room = self.rooms.get(room_id)
        return room.peers.get(participant_id) if room is not None else None

    def __iter__(self):
        return iter(list(self.rooms.values()))
