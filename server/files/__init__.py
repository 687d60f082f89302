"""Files of any owner: resumable uploads (tus), their bytes on disk, the organisation's quota, downloads with Range.

A group, a broadcast, ... owns a file; the part of the code that defines that
kind of owner says who may read it and what happens when an upload of its
kind completes (``owners.py``). See ``tus.py`` for the protocol.
"""
