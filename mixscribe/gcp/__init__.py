"""The Google Cloud adapters: clients built one way everywhere (emulator hosts in the environment are
honoured) and the implementations of the domain's ports (``mixscribe.ports``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..config import Settings
from ..ports import Blobs, Documents

if TYPE_CHECKING:  # imported when used: a function ships only the client libraries it needs
    from google.cloud import firestore, pubsub_v1, storage


def storage_client(settings: Settings) -> storage.Client:
    from google.auth.credentials import AnonymousCredentials
    from google.cloud import storage

    if settings.storage_emulator_host:
        return storage.Client(project=settings.project, credentials=AnonymousCredentials())
    return storage.Client(project=settings.project)


def firestore_client(settings: Settings) -> firestore.Client:
    from google.cloud import firestore

    return firestore.Client(project=settings.project)


# Every publish here is awaited before the next: a batch never gets a second message, and waiting
# the library's default 10 ms for one only delays each publish (measured on the emulator: an awaited
# publish 17.2 ms with the default, 4.1 ms sent at once, and 1.6 against 2.6 ms of CPU).
PUBLISH_AT_ONCE = {"max_messages": 1}


def publisher_client() -> pubsub_v1.PublisherClient:
    from google.cloud import pubsub_v1

    return pubsub_v1.PublisherClient(batch_settings=pubsub_v1.types.BatchSettings(**PUBLISH_AT_ONCE))


def subscriber_client() -> pubsub_v1.SubscriberClient:
    from google.cloud import pubsub_v1

    return pubsub_v1.SubscriberClient()


def documents(settings: Settings) -> Documents:
    """The domain's ``Documents`` port on this deployment's Firestore database."""
    from .firestore_documents import FirestoreDocuments

    return FirestoreDocuments(firestore_client(settings))


def blobs(settings: Settings) -> Blobs:
    """The domain's ``Blobs`` port on this deployment's Cloud Storage."""
    from .storage_blobs import StorageBlobs

    return StorageBlobs(storage_client(settings))
