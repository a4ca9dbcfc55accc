#!/usr/bin/env python3
"""Serves a directory over HTTP on 127.0.0.1 (a free port) for .ci/action-test.sh; writes the port
to PORT_FILE once listening. Stops by itself after the given number of seconds.
Usage: serve.py DIR PORT_FILE [SECONDS]"""
import functools
import http.server
import sys
import threading

root, port_file = sys.argv[1], sys.argv[2]
seconds = float(sys.argv[3]) if len(sys.argv) > 3 else 600


class Quiet(http.server.SimpleHTTPRequestHandler):
    def log_message(self, fmt, *args):
        sys.stderr.write("serve.py: " + (fmt % args) + "\n")


server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=root))
with open(port_file, "w") as f:
    f.write(str(server.server_address[1]))
timer = threading.Timer(seconds, server.shutdown)
timer.daemon = True
timer.start()
server.serve_forever()
