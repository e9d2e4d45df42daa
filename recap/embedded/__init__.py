"""The embedded stack for `recap dev`, `recap demo` and the tests: the Temporal dev server and a
local llama.cpp model server as child processes on loopback, with a crash fallback.

May import: `recap.core` only.
"""
