"""A job's language before its pieces are transcribed (``language=auto``: detected once per plan)."""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from mixscribe import telemetry
from mixscribe.audio import DecodedAudio
from mixscribe.config import Settings
from mixscribe.logs import fields
from mixscribe.work_requests import TranscriptionRequest

from .engine import ModelCache
from .languages import LanguageDetection, detect_language
from .piece_store import Plan

log = logging.getLogger(__name__)


def decide_language(
    models: ModelCache,
    settings: Settings,
    request: TranscriptionRequest,
    audio: DecodedAudio,
    plan: Plan,
    timings: dict[str, float],
) -> tuple[TranscriptionRequest, Plan]:
    """``language=auto``: detect over windows across the file (once per plan), fix the language for
    every piece and move English to the registry's English-only variant."""
    options = request.options
    if options.language != "auto":
        return request, plan
    if plan.language_detection:
        detection = LanguageDetection.from_dict(plan.language_detection)
    else:
        model = models.get(options.model)
        if not model.multilingual:
            return replace(request, options=replace(options, language="en")), plan
        mark = time.monotonic()
        with telemetry.span("detect_language", **{"mixscribe.model": options.model}):
            found = detect_language(model, audio.samples, options.model)
        timings["detect_language_s"] = time.monotonic() - mark
        if found is None:  # no speech anywhere: let the model's own pass decide
            return request, plan
        routed = settings.models().english_route(options.model) if found.language == "en" else None
        detection = replace(found, routed_to=routed)
        plan = replace(plan, language_detection=detection.to_dict())
        log.info("language detected", extra=fields(job_id=request.job_id, **detection.to_dict()))
    chosen = replace(options, language=detection.language, model=detection.routed_to or options.model)
    return replace(request, options=chosen), plan
