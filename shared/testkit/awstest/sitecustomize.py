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

    import io
    import json

    _lock = threading.Lock()
    _call = _app.DomainDispatcherApplication.__call__

    # moto also ignores TransactWriteItems' ClientRequestToken, which
    # DynamoDB honours: a client's retry of a transaction whose answer was
    # lost, or that the client gave up on, is answered as the first one was
    # instead of being run again (and failing its own conditions). Kept
    # here, by token, are the answers of the last transactions that
    # succeeded.
    _answers = {}
    _MAX_ANSWERS = 10000

    def _transact(self, environ, start_response):
        body = environ["wsgi.input"].read(int(environ.get("CONTENT_LENGTH") or 0))
        environ["wsgi.input"] = io.BytesIO(body)
        try:
            token = json.loads(body).get("ClientRequestToken")
        except ValueError:
            token = None
        if token and token in _answers:
            sent, status, headers, answer = _answers[token]
            if sent != body:
                # As DynamoDB does when a token comes back with other items.
                start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.0")])
                return [json.dumps({
                    "__type": "com.amazonaws.dynamodb.v20120810#IdempotentParameterMismatchException",
                    "message": "The request uses the same client token as a previous, but non-identical request.",
                }).encode()]
            start_response(status, headers)
            return [answer]
        got = {}

        def capture(status, headers, exc_info=None):
            got["status"], got["headers"] = status, headers
            return start_response(status, headers, exc_info)

        answer = b"".join(_call(self, environ, capture))
        if token and got.get("status", "").startswith("200"):
            if len(_answers) >= _MAX_ANSWERS:
                _answers.clear()
            _answers[token] = (body, got["status"], got["headers"], answer)
        return [answer]

    def _serialized(self, environ, start_response):
        target = environ.get("HTTP_X_AMZ_TARGET", "")
        if target.startswith("DynamoDB_"):
            with _lock:
                if target.endswith(".TransactWriteItems"):
                    return _transact(self, environ, start_response)
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
