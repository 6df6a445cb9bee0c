#!/usr/bin/env bash
# System packages the project needs: ffmpeg (test fixtures in many containers), chromium (browser test), espeak-ng (voices), Java 17 and the
# gcloud Pub/Sub and Firestore emulators (checked: they come with the machine image).
set -euo pipefail
need=()
command -v ffmpeg >/dev/null 2>&1 || need+=(ffmpeg)
# headless browser for the web page test (Playwright drives it; no browser download)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
# espeak-ng: the diarization corpus's voices (tests/support/voices.py), synthesised offline
command -v espeak-ng >/dev/null 2>&1 || need+=(espeak-ng)
# PortAudio for the edge agent's live capture (sounddevice loads it only when recording a device)
ldconfig -p 2>/dev/null | grep -q libportaudio.so.2 || need+=(libportaudio2)
if [ ${#need[@]} -gt 0 ]; then
  SUDO=""
  [ "$(id -u)" -eq 0 ] || SUDO="sudo"
  echo "installing system packages: ${need[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
fi
missing=""
command -v java >/dev/null 2>&1 || missing="$missing java(17+)"
# the local stack runs the transcription job on the image's Python (artifacts/image.py: 3.11)
command -v python3.11 >/dev/null 2>&1 || missing="$missing python3.11"
command -v gcloud >/dev/null 2>&1 || missing="$missing gcloud"
if command -v gcloud >/dev/null 2>&1; then
  sdk=$(dirname "$(readlink -f "$(command -v gcloud)")")/..
  [ -d "$sdk/platform/pubsub-emulator" ] || missing="$missing pubsub-emulator(google-cloud-cli-pubsub-emulator)"
  [ -d "$sdk/platform/cloud-firestore-emulator" ] || missing="$missing firestore-emulator(google-cloud-cli-firestore-emulator)"
fi
if [ -n "$missing" ]; then
  echo "missing:$missing — install the Google Cloud CLI with its emulators and Java 17" >&2
  exit 1
fi
