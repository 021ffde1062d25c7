"""A patient's data-protection rights: what the portal holds (declarations), access, export, rectification, restriction, erasure, retention."""
