"""Bulk member import from CSV or XLSX: stream rows, check each in Python, write in batches."""
