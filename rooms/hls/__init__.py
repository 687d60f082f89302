"""HLS of a livestream: the stage's H.264 and Opus remuxed into CMAF (fMP4) segments inside a media worker, without transcoding."""
