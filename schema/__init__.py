"""JSON Schemas of the SkyScript-100M records, installed as the data package ``builder.schemas``."""
