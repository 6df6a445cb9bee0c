"""Google Cloud clients built one way everywhere; emulator hosts in the environment are honoured."""

from __future__ import annotations

from typing import Any

from .config import Settings


def storage_client(settings: Settings) -> Any:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    if settings.storage_emulator_host:
        return storage.Client(project=settings.project, credentials=AnonymousCredentials())
    return storage.Client(project=settings.project)


def firestore_client(settings: Settings) -> Any:
    from google.cloud import firestore

    return firestore.Client(project=settings.project)


def publisher_client() -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient()


def subscriber_client() -> Any:
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()
