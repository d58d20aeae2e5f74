import os

import matplotlib

matplotlib.use("Agg")  # unit tests only; notebooks keep the inline backend
os.environ.setdefault("COURSEKIT_OFFLINE", "1")  # no test ever downloads
