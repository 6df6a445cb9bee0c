"""The whole system on one machine: real gcloud emulators, fake-gcs-server, a stand-in for the Cloud
Run Admin API, and every function and the job run from their deploy artifacts.
``python -m local_emulators up|down|status|demo``."""
