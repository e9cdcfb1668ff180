"""The in-process token buckets moved to voc.limits.memory (shared limits: voc.limits); kept importable here."""

from voc.limits.memory import TokenBuckets, retry_after

__all__ = ["TokenBuckets", "retry_after"]
