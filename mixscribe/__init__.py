"""mixscribe: the shared domain of the transcription system (jobs, events, layout, audio, config)."""

__version__ = "0.1.0"
