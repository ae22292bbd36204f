#!/usr/bin/env python3
# A local RFC 3161 time-stamping authority for the tests: `openssl ts -reply` behind a small HTTP handler.
# Usage: test-tsa.py DIR  (DIR holds tsa.cnf and the TSA's key and certificates); prints the port it listens on.
import http.server
import os
import subprocess
import sys
import tempfile

folder = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def do_POST(self):
        query = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        with tempfile.NamedTemporaryFile(dir=folder, delete=False) as f:
            f.write(query)
        try:
            r = subprocess.run(["openssl", "ts", "-reply", "-config", folder + "/tsa.cnf", "-queryfile", f.name],
                               capture_output=True)
        finally:
            os.unlink(f.name)
        body = r.stdout if r.returncode == 0 else r.stderr
        self.send_response(200 if r.returncode == 0 else 500)
        self.send_header("Content-Type", "application/timestamp-reply")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass


server = http.server.HTTPServer(("127.0.0.1", 0), Handler)
print(server.server_address[1], flush=True)
server.serve_forever()
