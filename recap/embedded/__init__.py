"""The embedded stack for `recap dev`, `recap demo` and the tests: the Temporal dev server and a
local llama.cpp model server as child processes on loopback, with a crash fallback.

`stack.py` starts and stops them together; `temporal.py` and `model_server.py` start each
(the model server's files in `model_files.py`, the flags that suit this CPU in
`flag_memory.py`); `processes.py` spawns, awaits and stops a child; `ports.py` checks and
picks loopback ports; `errors.py` says what went wrong.

May import: `recap.core` only.
"""
