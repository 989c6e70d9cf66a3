"""The line protocol of the benchmark's PyTorch peers: one JSON request a line on stdin, one JSON
reply a line on stdout, {'ok': True, ...} or {'error': '...'}."""
import argparse
import json
import os
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


def peer_arguments(description):
    """The peers' shared command line: the MNIST directory, its scaling and the thread count."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument('--mnist', required=True, help='directory of the four MNIST IDX files (raw or .gz)')
    parser.add_argument('--scale', type=float, required=True, help='x = u8·scale + shift')
    parser.add_argument('--shift', type=float, required=True)
    parser.add_argument('--threads', type=int, default=os.cpu_count())
    return parser.parse_args()
