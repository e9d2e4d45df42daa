"""One person's journey across sessions (issue 20): being built."""
