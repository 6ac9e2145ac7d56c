# Home Assistant 2026 aliases `voluptuous` to probatio at run time
# (probatio.compat.install_as_voluptuous, called when `homeassistant` is
# imported), so a checker must see probatio too: the pyright gate always, mypy
# when the installed Home Assistant does that (scripts/lib.sh, run_mypy).
from probatio import *
