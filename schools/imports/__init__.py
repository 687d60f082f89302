"""Importing a bureau's whole hierarchy from CSV and XLSX: see schools/DESIGN.md."""
