"""Starts the real AWS Lambda runtime interface client for Python (PyPI `awslambdaric`) the way Lambda's own python
bootstrap does: the handler comes from _HANDLER (which the exec wrapper has redirected to the guard's wrapper), and
LAMBDA_TASK_ROOT goes first on sys.path. `npm run demo` uses this when awslambdaric is installed (.ci/run installs
it) and falls back to python_runtime.py otherwise.
"""

import os
import sys

from awslambdaric import __main__ as ric

sys.path.insert(0, os.environ.get("LAMBDA_TASK_ROOT", os.getcwd()))
ric.main([sys.argv[0], os.environ.get("_HANDLER", "")])
