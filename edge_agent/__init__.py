"""The mixscribe edge agent: records a USB mixer (Yamaha AG06/AG03), spools FLAC segments durably
and uploads them to the uploads bucket with resumable, never-overwriting uploads."""
