"""Class livestreams: a stream from a group, its watchers and guests, its WHIP ingest into the SFU."""
