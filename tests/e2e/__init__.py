"""End to end: the `recap` CLI run as a process, and a summary through the real llama-server."""
