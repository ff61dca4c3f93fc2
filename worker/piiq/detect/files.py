"""File text for detection lives in ``piiq.filetext`` (it runs in a child process that
must not import Presidio); this name is kept for callers of ``piiq.detect.files``."""

from ..filetext import *  # noqa: F403
from ..filetext import __all__  # noqa: F401
