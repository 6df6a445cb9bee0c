"""The whole system on one machine: real gcloud emulators, fake-gcs-server and local stand-ins
for Eventarc and the Cloud Run Jobs API. ``python -m local_emulators up|down|status|demo``."""
