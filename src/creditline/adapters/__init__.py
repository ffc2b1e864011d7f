"""Concrete adapters: the database, the system clock, and later payments and notifications."""
