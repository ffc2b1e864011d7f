"""Use cases: each is one function ``(command, unit of work, clock) -> result``.

Services load what they need through the unit of work, make one domain decision,
write its outcome and commit. They never retry: the caller retries the whole call
when the unit of work raises a transient storage error.
"""
