"""Fast tests of pure functions: timeline compiling, signals, redaction, the gate and prompts,
clustering, the demo generator, retries, logging, and the compose file read statically."""
