"""The names of the REFI-QDA project exchange format that reading (:mod:`.qdpx`) and writing
(:mod:`.qdpx_export`) a ``.qdpx`` share: its XML namespace and schema, the columns of a coded
segment, and the namespace of the GUIDs ipeval gives what it writes."""
from __future__ import annotations

import uuid

NS = "urn:QDA-XML:project:1.0"
XSI = "http://www.w3.org/2001/XMLSchema-instance"
SCHEMA_URL = "http://schema.qdasoftware.org/versions/Project/v1.0/Project.xsd"
CORE = ("unit_id", "coder", "code", "code_path", "interview", "participant", "text", "start", "end")
ALIASES = {"interview_id": "interview", "participant_id": "participant"}
GUID_NAMESPACE = uuid.UUID("8f4b7f52-3c1e-4b8e-9a51-2d0c6f1e7a10")
"""Namespace of ipeval's uuid5 GUIDs: the same project written twice gets the same GUIDs."""
