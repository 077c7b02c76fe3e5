"""Shard writing, validation, the dataset folder and its card: everything needed to read or publish SkyScript-100M.

Imports only light dependencies (datasets, webdataset, jsonschema, pillow, huggingface_hub); the annotation
stages live in ``annotate`` and may import this package, never the reverse.
"""
