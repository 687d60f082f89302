"""The meeting SFU: packets in, packets out, no codecs. Start with docs/rooms-media.md, then router.py."""
