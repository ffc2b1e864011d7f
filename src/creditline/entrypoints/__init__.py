"""Entrypoints: the thin shells around :class:`creditline.Creditline`.

Each one parses its input, makes one call on the engine and renders the result;
none holds a business rule. ``cli`` is the ``creditline`` command.
"""
