"""The transcription use case, all of it: fetch and decode (``source``), the speech model (``engine``),
one speaker per channel (``speakers``), cutting long files and stitching them back (``seams``, with the
pieces' state in ``piece_store``), the outputs (``outputs``) and the one road through them
(``use_case.Transcription``). ``jobs/transcribe`` only pulls requests and runs a process around it."""

from .engine import ModelCache
from .outcome import Outcome, TaskIdentity
from .use_case import Transcription

__all__ = ["ModelCache", "Outcome", "TaskIdentity", "Transcription"]
