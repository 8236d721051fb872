"""The inspector's web pages (Simplified Chinese by default) and the inspection report renderers."""
