"""The annotation stages: each reads IN, writes validated shards to OUT, resumes, and splits across processes.

``skyscript STAGE IN OUT`` and ``accelerate launch -m annotate.STAGE IN OUT`` do the same work (see
``annotate.runner``). Needs the ``annotate`` extra (torch, accelerate, PyAV).
"""
