"""The engine's public methods, one mixin per feature, that
:class:`~creditline.bootstrap.Creditline` inherits; :mod:`creditline.facade.core`
declares the plumbing they stand on, which the engine defines where it wires the
database and the adapters."""
