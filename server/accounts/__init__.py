"""Accounts: people and guests, passwords, device sessions, two-factor, login limits."""
