"""Personal data out of a job's outputs: entity types (``entities``), spoken forms written out
(``spoken``), the engines that find them (``engines``: Presidio offline, Cloud DLP), the transcript with
the findings replaced (``apply``) and the audio with them silenced (``audio``)."""
