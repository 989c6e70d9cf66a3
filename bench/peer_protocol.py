"""The line protocol of the benchmark's PyTorch peers: one JSON request a line on stdin, one JSON
reply a line on stdout, {'ok': True, ...} or {'error': '...'}."""
import json
import sys


def serve_requests(handlers):
    """Answers requests until stdin closes; handlers maps each request's 'op' to a function of it."""
    for line in sys.stdin:
        try:
            request = json.loads(line)
            handler = handlers.get(request.get('op'))
            if handler is None:
                raise ValueError(f'unknown op {request.get("op")!r}')
            reply = {'ok': True, **(handler(request) or {})}
        except Exception as e:  # every failure goes back to the caller as a reply
            reply = {'error': f'{type(e).__name__}: {e}'}
        sys.stdout.write(json.dumps(reply) + '\n')
        sys.stdout.flush()
