"""Deploy artifacts, declared once and built one way for the cloud and for the local stack.

- ``functions``: what each Cloud Function's source archive holds, and the archive builder that
  infra uploads and the local stack unpacks.
- ``image``: what the transcription job's image holds (the Dockerfiles must agree), assembled
  into a folder the local stack runs tasks from.
- ``venvs``: virtualenvs made from an artifact's own requirements alone, cached by their hash.

Nothing here ships: it is build-time code for ``infra/pulumi``, ``local_emulators`` and the tests.
"""
