"""Meeting recording: the stage's VP8 video and the speaker's Opus audio, remuxed into WebM without decoding."""
