# Home Assistant 2026 aliases `voluptuous` to probatio at run time
# (probatio.compat.install_as_voluptuous), so the checker must see probatio too.
from probatio import *
