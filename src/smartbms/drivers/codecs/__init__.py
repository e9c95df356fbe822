"""Pure codecs of the supported boards: bytes <-> frames <-> Telemetry, no I/O."""
