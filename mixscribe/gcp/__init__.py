"""The Google Cloud adapters: clients built one way everywhere (emulator hosts in the environment are
honoured) and the implementations of the domain's ports (``mixscribe.ports``)."""

from __future__ import annotations

from typing import Any

from ..config import Settings


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


def documents(settings: Settings) -> Any:
    """The domain's ``Documents`` port on this deployment's Firestore database."""
    from .firestore_documents import FirestoreDocuments

    return FirestoreDocuments(firestore_client(settings))


def blobs(settings: Settings) -> Any:
    """The domain's ``Blobs`` port on this deployment's Cloud Storage."""
    from .storage_blobs import StorageBlobs

    return StorageBlobs(storage_client(settings))
