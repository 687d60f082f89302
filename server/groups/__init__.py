"""Groups of up to 10,000 members: messages, read pointers, announcements, files."""
