# Loaded into moto_server by awstest (through PYTHONPATH); nothing else runs it.
#
# moto_server answers each request on its own thread and takes no lock, so
# two conditional writes to one DynamoDB item can both pass their condition
# (a lost update real DynamoDB never allows: its single-item writes and its
# transactions are atomic). Running DynamoDB requests one at a time restores
# that guarantee. Other services are left concurrent, so an SQS long poll
# cannot stall the table.
import os
import sys
import threading

_MARKER = "awstest: dynamodb requests serialized"

try:
    from moto.moto_server import werkzeug_app as _app

    _lock = threading.Lock()
    _call = _app.DomainDispatcherApplication.__call__

    def _serialized(self, environ, start_response):
        if environ.get("HTTP_X_AMZ_TARGET", "").startswith("DynamoDB_"):
            with _lock:
                return _call(self, environ, start_response)
        return _call(self, environ, start_response)

    _app.DomainDispatcherApplication.__call__ = _serialized
    print(_MARKER, file=sys.stderr, flush=True)
except Exception as e:  # moto changed: awstest reports the missing marker
    print("awstest: cannot serialize dynamodb requests: %r" % (e,), file=sys.stderr, flush=True)

# Run the sitecustomize this file shadows, if the interpreter has one.
_here = os.path.dirname(os.path.abspath(__file__))
for _dir in sys.path:
    if os.path.abspath(_dir or ".") == _here:
        continue
    _file = os.path.join(_dir or ".", "sitecustomize.py")
    if os.path.isfile(_file):
        import importlib.util

        _spec = importlib.util.spec_from_file_location("_awstest_shadowed_sitecustomize", _file)
        _mod = importlib.util.module_from_spec(_spec)
        _spec.loader.exec_module(_mod)
        break
