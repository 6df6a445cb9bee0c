"""Notes from transcripts: an OpenAI-compatible LLM path with a circuit breaker and an embedded,
network-free extractive fallback. ``NotesService.summarize`` picks the path; ``schema`` defines
the output both paths produce."""
