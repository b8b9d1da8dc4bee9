"""meshspec's exit codes, in one place (every command returns one of these)."""

EXIT_OK = 0  # success; warnings allowed
EXIT_INVALID = 1  # invalid input (a spec, a state folder), or verify found problems
EXIT_USAGE = 2  # a usage error: missing file, bad flag
EXIT_GATE = 3  # a `diff --fail-on` condition matched
EXIT_UNREACHABLE = 4  # verify: a cluster could not be reached (the others are still checked)
EXIT_INTERNAL = 70  # a bug in meshspec (EX_SOFTWARE)
EXIT_IO = 74  # the system refused a read or a write: a full disk, a folder not writable (EX_IOERR)
EXIT_INTERRUPTED = 130  # Ctrl-C
