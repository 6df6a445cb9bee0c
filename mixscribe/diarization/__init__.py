"""Speaker diarization of one channel, offline: who spoke when, on the transcript's words.

``features`` (mel frames), ``encoder`` (the ONNX voice encoder), ``diarizer`` (windows, embeddings,
clustering, turns), ``assign`` (words labelled, segments split; what the transcription job calls for a
piece or one channel of it), ``labels`` (``S1``… names, summary, renames; no NumPy, the API uses it)
and ``stitching`` (speakers matched across the pieces of a long file).
"""
